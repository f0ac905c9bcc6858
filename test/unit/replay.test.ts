// The restore planner's pure logic (plan.processes), on real dumps kept as JSON in
// fixtures/replay: how each sandbox shape is replayed. No system calls; the round trips in
// roundtrip.test.ts prove the same shapes against the kernel.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateOf, Image } from '../../src/model/image.js';
import { buildPlan } from '../../src/plan/build.js';
import { resolveRefs } from '../../src/plan/replay.js';
import { NS_LINKS } from '../../src/model/species.js';
import type { ProcessStep } from '../../src/plan/schema.js';
import { ROOT } from '../helpers/paths.js';

const load = (name: string) => Image.parse(JSON.parse(readFileSync(join(ROOT, 'fixtures', 'replay', `${name}.json`), 'utf8')));
const target = { kernel: '6.18', pidfd: true };
const processes = (img: Image): ProcessStep[] => {
  const plan = buildPlan(img, target);
  if (plan.cannotRestore) throw new Error(plan.cannotRestore);
  return plan.processes;
};
const idOf = (img: Image, type: string, pred: (n: Image['namespaces'][number]) => boolean = () => true) => img.namespaces.find((n) => n.type === type && !n.inScope && pred(n))!.id;

test('an unshare --fork waiter is recreated as one: its chain ends with --fork, its forked child stands for the set inside', (t) => {
  const img = load('map-user-1000');
  const [w, child] = processes(img);
  t.true(w!.passive);
  t.true(w!.chain!.fork);
  t.is(w!.forkChild, child!.n);
  t.is(child!.how, 'fork-child');
  t.is(child!.chain, null, 'the fork gives the child exactly its set');
  // One unshare makes the whole group: user first, so the others are owned by it.
  t.deepEqual(Object.keys(w!.chain!.create).sort(), ['ipc', 'pid', 'user', 'uts']);
  t.is(w!.mapsWriter, 0, 'the executor writes the maps of a user namespace its own user namespace parents');
});

test('time_for_children that differs from time: the waiter that made it, never an exec after (zdtm timens_for_kids)', (t) => {
  const img = load('time-for-children');
  const [w] = processes(img);
  const time = img.namespaces.find((n) => n.type === 'time' && !n.inScope)!;
  t.true(w!.passive);
  t.is(w!.chain!.create.time, time.id);
  t.deepEqual(w!.chain!.time, { monotonic: stateOf(time, 'time').monotonic.seconds, boottime: stateOf(time, 'time').boottime.seconds });
});

test('an exec chain: each pid namespace\'s init becomes the next level\'s waiter in place, in the next user namespace', (t) => {
  const img = load('exec-chain');
  const ps = processes(img);
  t.is(ps.length, 4);
  t.is(ps[0]!.how, 'spawn');
  for (const p of ps.slice(1, 3)) {
    t.is(p.how, 'fork-child', 'the child its waiter forked: pid 1 of that pid namespace');
    t.true(p.passive, 'which then execs unshare --fork itself');
    t.truthy(p.chain!.create.user);
    t.not(p.mapsWriter, null);
  }
  t.is(ps[3]!.chain, null);
});

test('bubblewrap\'s shape: namespaces the outer user namespace owns are made first, in the same chain, then the user namespace below', (t) => {
  const img = load('bwrap-shape');
  const ps = processes(img);
  const inner = ps.find((p) => p.chain?.create.user !== undefined && p.how === 'fork-child')!;
  t.truthy(inner, JSON.stringify(ps));
  t.deepEqual(Object.keys(inner.chain!.create), ['user']);
  t.is(ps.filter((p) => p.stub).length, 0, 'no stub: one unshare per group');
});

test('bubblewrap inside bubblewrap, as uid 1000: stubs make the user namespaces no process is in; a uid the parent maps is taken to make the next', (t) => {
  const img = load('bwrapbwrap');
  const ps = processes(img);
  const stubs = ps.filter((p) => p.stub);
  t.is(stubs.length, 2);
  for (const s of stubs) t.deepEqual(Object.keys(s.chain!.create), ['user']);
  const outer = ps.find((p) => !p.stub && p.chain?.forkFirst)!;
  t.deepEqual(outer.chain!.setuid, { uid: 0, gid: 0 }, 'the executor\'s uid is not mapped in user#2 (it maps uid 1000 only): become its root first');
  t.true(outer.extraWaiter, 'the first unshare forks into the new pid namespace and is ended once its child is ready');
  t.deepEqual(Object.keys(outer.chain!.createFirst).sort(), ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts']);
  t.is(outer.parent, stubs[0]!.n, 'made from inside the user namespace that owns its namespaces');
});

test('a root-mapped user namespace below one that maps only uid 1000: made from an agent that keeps its capabilities there', (t) => {
  const img = load('root-below-uid1000');
  const ps = processes(img);
  const inner = ps.find((p) => p.set !== null)!;
  const outer = ps.find((p) => p.n === inner.parent)!;
  t.true(outer.stub);
  t.is(inner.mapsWriter, outer.n, 'its parent\'s agent writes the maps, with ambient capabilities');
  t.not(idOf(img, 'user', (n) => stateOf(n, 'user').level === 2), undefined);
});

test('namespaces held only by a bind mount or an fd are made by stubs', (t) => {
  const img = load('holders');
  const ps = processes(img);
  const made = ps.filter((p) => p.stub).flatMap((p) => Object.values(p.chain!.create));
  t.true(made.includes(idOf(img, 'net')));
  t.true(made.includes(idOf(img, 'uts', (n) => n.holders.some((h) => h.kind === 'bind'))));
});

test('what restore cannot do is said in the plan, not thrown: nanosecond time offsets', (t) => {
  const img = load('time-for-children');
  stateOf(img.namespaces.find((n) => n.type === 'time' && !n.inScope)!, 'time').monotonic.nanoseconds = 5;
  const plan = buildPlan(img, target);
  t.deepEqual(plan.processes, []);
  t.regex(plan.cannotRestore!, /nanoseconds, which util-linux unshare cannot set/);
});

test('the replay is the same every time', (t) => {
  for (const name of ['exec-chain', 'bwrapbwrap', 'holders']) t.deepEqual(processes(load(name)), processes(load(name)));
});

test('resolveRefs keeps every link, in NS_LINKS order, and resolves a missing *_for_children to the active one', (t) => {
  const refs = Object.fromEntries(NS_LINKS.map((l, i) => [l, i + 1])) as Parameters<typeof resolveRefs>[0];
  t.deepEqual(Object.keys(resolveRefs(refs)), [...NS_LINKS]);
  t.deepEqual(Object.values(resolveRefs(refs)), NS_LINKS.map((_, i) => i + 1));
  const r = resolveRefs({ ...refs, pid_for_children: null, time_for_children: null });
  t.is(r.pid_for_children, 2);
  t.is(r.time_for_children, 8);
});
