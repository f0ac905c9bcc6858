// The planner's pure logic on synthetic images: order, the choice of a pid namespace's init,
// attach flags. No system calls.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image, type Namespace } from '../../src/model/image.js';
import { buildPlan } from '../../src/plan/build.js';
import { ROOT } from '../helpers/paths.js';

const base = (): Image => Image.parse(JSON.parse(readFileSync(join(ROOT, 'fixtures', 'bad-images', 'base.json'), 'utf8')));
const target = { kernel: '6.18', pidfd: true };
const creates = (img: Image) => buildPlan(img, target).steps.flatMap((s) => (s.op === 'create' ? [`${s.type}#${s.creates[0]}`] : []));

test('creation order: user namespaces, then the other kinds, then pid namespaces', (t) => {
  t.deepEqual(creates(base()), ['user#9', 'uts#11', 'ipc#12', 'time#13', 'pid#10']);
});

test('the dumper\'s own namespaces are reused, never created', (t) => {
  const plan = buildPlan(base(), target);
  t.deepEqual(plan.reuse, [1, 2, 3, 4, 5, 6, 7, 8]);
  t.false(creates(base()).some((c) => Number(c.split('#')[1]) <= 8));
});

test('a pid namespace\'s init joins the rest of the first set living in it, when that set\'s user namespace owns it', (t) => {
  const plan = buildPlan(base(), target);
  const pid = plan.steps.find((s) => s.op === 'create' && s.type === 'pid')!;
  t.true(pid.op === 'create' && pid.init === 'set-1');
  if (pid.op === 'create') t.deepEqual(pid.enter, { user: 9, pid: null, mnt: null, net: null, ipc: 12, uts: 11, cgroup: null, time: 13 });
  const spawn = plan.steps.find((s) => s.op === 'spawn')!;
  t.true(spawn.op === 'spawn' && spawn.initOf === 10);
});

test('a set whose user namespace does not own its pid namespace gets a placeholder of its own', (t) => {
  const img = base();
  // A second user namespace; the process moves into it after the pid namespace was made by user#9.
  const u2: Namespace = { ...structuredClone(img.namespaces[8]!), id: 14, parent: 9, owner: 9, inode: 4026533000, nsId: '6000' };
  img.namespaces.push(u2);
  img.processes[0]!.namespaces.user = 14;
  const plan = buildPlan(img, target);
  const pid = plan.steps.find((s) => s.op === 'create' && s.type === 'pid')!;
  t.true(pid.op === 'create' && pid.init === 'init-pid-10');
  if (pid.op === 'create') t.is(pid.enter.uts, null, 'a plain init joins only its owner');
  const spawn = plan.steps.find((s) => s.op === 'spawn')!;
  t.true(spawn.op === 'spawn' && spawn.initOf === null);
});

test('attach: CLONE_NEWUSER is left out when the set\'s user namespace is the executor\'s own', (t) => {
  const img = base();
  img.processes[0]!.namespaces.user = 1;
  const attach = buildPlan(img, target).steps.find((s) => s.op === 'attach-pidfd')!;
  t.true(attach.op === 'attach-pidfd' && !attach.flags.includes('user') && attach.flags.length === 7);
});

test('attach in sequence joins only what was created, the user namespace last', (t) => {
  const attach = buildPlan(base(), { kernel: '6.18', pidfd: false }).steps.find((s) => s.op === 'attach-sequence')!;
  t.true(attach.op === 'attach-sequence');
  if (attach.op === 'attach-sequence') {
    t.deepEqual(attach.sequence.map((q) => `${q.type}#${q.ns}`), ['ipc#12', 'uts#11', 'pid#10', 'time#13', 'user#9']);
    t.deepEqual(attach.sequence.map((q) => q.holder), ['hold-ipc-12', 'hold-uts-11', 'hold-pid-10', 'hold-time-13', 'hold-user-9']);
  }
});

test('threads that left their leader\'s namespaces count as sets of their own', (t) => {
  const img = base();
  img.threads.push({ pid: 100, tid: 101, namespaces: { ...img.processes[0]!.namespaces, uts: 6 } });
  const spawns = buildPlan(img, target).steps.filter((s) => s.op === 'spawn');
  t.is(spawns.length, 2);
  t.true(spawns[1]!.op === 'spawn' && spawns[1]!.pids.includes(101));
});

test('steps are numbered in order and the plan is the same every time', (t) => {
  const a = buildPlan(base(), target);
  t.deepEqual(a.steps.map((s) => s.n), a.steps.map((_, i) => i + 1));
  t.deepEqual(buildPlan(base(), target), a);
});
