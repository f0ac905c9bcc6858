// nsdump plan: the bad-image corpus, order on real topologies, the sh output run for real and the
// result compared with the image, hostile values, and the JSON contract.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareImages } from '../src/diff/compare.js';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import { stateOf, Image } from '../src/model/image.js';
import { Plan } from '../src/plan/schema.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { assertPlanOrder, planOf, released, runShPlan } from './helpers/plan.js';
import { startTopology } from './helpers/topology.js';

const CORPUS = join(ROOT, 'fixtures', 'bad-images');
for (const name of readdirSync(CORPUS).filter((n) => !n.endsWith('.json'))) {
  test(`bad image ${name}: refused with its exit code and one line naming the file`, (t) => {
    const expect = JSON.parse(readFileSync(join(CORPUS, name, 'expect.json'), 'utf8')) as { code: number; pattern: string };
    const r = nsdump(['plan', join(CORPUS, name)]);
    t.is(r.code, expect.code, r.stderr);
    t.is(r.stdout, '');
    t.is(r.stderr.split('\n').length, 2, 'one line');
    t.regex(r.stderr, new RegExp(`^nsdump: ${join(CORPUS, name)}`));
    t.regex(r.stderr, new RegExp(expect.pattern));
  });
}

const TOPOLOGIES = ['three-levels', 'uts-owned-by-ancestor', 'user-multirange', 'time-nested', 'ipc-nested', 'pid-nested', 'mixed-children', 'holders', 'user-chain-limit'];
for (const name of TOPOLOGIES) {
  test(`plan for ${name}: every namespace made once, after its owner and parent; deterministic`, async (t) => {
    const topo = await startTopology(t, name);
    const { dir, img } = dumpToJson(t, topo.pid);
    const plan = planOf(t, dir);
    t.true(Plan.safeParse(plan).success, 'matches its schema');
    assertPlanOrder(t, plan, img);
    t.deepEqual(planOf(t, dir), plan, 'the same image gives the same plan');
    const text = nsdump(['plan', dir]);
    t.is(text.code, 0);
    t.regex(text.stdout, new RegExp(`^Plan to recreate the namespaces of ${dir}`));
    t.is(text.stdout.match(/^\s*\d+\. /gm)?.length, plan.steps.length, 'one numbered line per step');
  });
}

// The sh export runs the plan with nsenter, one process per set: it must either round-trip or
// refuse, with exit 8 and one line, what it cannot express (waiters' *_for_children, uid 0
// unmapped, bind-mount holders). Some of the corpus it can do; those are run for real.
const EXPORTED = ['three-levels', 'uts-owned-by-ancestor', 'user-multirange', 'time-nested', 'ipc-nested', 'mixed-children', 'holders', 'map-user-1000', 'bwrap-shape'];
const SH_CAN = ['uts-owned-by-ancestor', 'user-multirange', 'time-nested', 'ipc-nested', 'mixed-children'];
for (const name of EXPORTED) {
  test(`the sh plan for ${name}: run for real it recreates the dumped namespaces, or it is refused in one line`, async (t) => {
    const topo = await startTopology(t, name);
    const { dir } = dumpToJson(t, topo.pid);
    const sh = nsdump(['plan', dir, '--format', 'sh']);
    if (!SH_CAN.includes(name)) {
      t.is(sh.code, 8, sh.stderr);
      t.is(sh.stdout, '');
      t.regex(sh.stderr, /^nsdump: --format sh cannot recreate this image: .+; nsdump restore can\n$/);
      return;
    }
    t.is(sh.code, 0, sh.stderr);
    const run = await runShPlan(t, sh.stdout);
    const restored = dumpToJson(t, run.root);
    // Run on its own (not under nsdump restore's subreaper), a plan keeps the processes that wait
    // for a child (nsenter --pid, unshare --fork): they add sets; everything dumped must be there.
    const diffs = compareImages(readImage(dir), restored.img).filter((d) => d.kind !== 'set-extra');
    t.deepEqual(diffs, [], diffs.map((d) => d.message).join('\n'));
    t.is(await run.stop(), 143, 'ends on SIGTERM');
    const procs = restored.img.processes.map((p) => p.pid);
    t.true(await released(run, procs), 'every process it made has ended, its directory is gone');
  });
}

test('the sh plan without pidfd, and `-- command` runs in the dumped root\'s namespaces', async (t) => {
  const topo = await startTopology(t, 'uts-owned-by-ancestor');
  const { dir, img } = dumpToJson(t, topo.pid);
  const sh = nsdump(['plan', dir, '--format', 'sh', '--no-pidfd']);
  t.is(sh.code, 0, sh.stderr);
  const file = join(tempDir(t), 'plan.sh');
  (await import('node:fs')).writeFileSync(file, sh.stdout);
  const r = spawnSync('sh', [file, '--', 'sh', '-c', 'cat /proc/sys/kernel/hostname; exit 5'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 5, r.stderr);
  const root = img.processes.find((p) => p.pid === topo.pid)!;
  t.is<unknown, unknown>(r.stdout.trim(), stateOf(img.namespaces[root.namespaces.uts! - 1]!, 'uts').hostname);
});

test('hostile values in an image are data in the sh plan, never code', async (t) => {
  const topo = await startTopology(t, 'uts-owned-by-ancestor');
  const { dir } = dumpToJson(t, topo.pid);
  const img: Image = readImage(dir);
  const canary = join(tempDir(t), 'pwned');
  const hostile = [`$(touch ${canary})`, `'; touch ${canary}; '`, '`touch x`"\\$HOME\\\''];
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope)!;
  for (const h of hostile) {
    stateOf(uts, 'uts').hostname = h;
    stateOf(uts, 'uts').domainname = `"${h}"`;
    const bad = join(tempDir(t), 'img');
    writeImage(bad, img);
    const sh = nsdump(['plan', bad, '--format', 'sh']);
    t.is(sh.code, 0, sh.stderr);
    const run = await runShPlan(t, sh.stdout);
    const restored = dumpToJson(t, run.root).img;
    const names = restored.namespaces.filter((n) => n.type === 'uts').map((n) => stateOf(n, 'uts').hostname);
    t.true(names.includes(h), `hostname set verbatim: ${JSON.stringify(h)} in ${JSON.stringify(names)}`);
    await run.stop();
    t.false(existsSync(canary), 'no command from the image ran');
  }
});

test('a hostname with a newline cannot be written through /proc/sys: --format sh refuses (exit 8)', async (t) => {
  const img = Image.parse(JSON.parse(readFileSync(join(CORPUS, 'base.json'), 'utf8')));
  stateOf(img.namespaces.find((n) => n.type === 'uts' && !n.inScope)!, 'uts').hostname = 'a\n$(touch /tmp/x)';
  const dir = join(tempDir(t), 'img');
  writeImage(dir, img);
  const r = nsdump(['plan', dir, '--format', 'sh']);
  t.is(r.code, 8);
  t.is(r.stdout, '');
  t.regex(r.stderr, /holds a newline or NUL/);
});

test('time offsets with nanoseconds cannot be written by util-linux: --format sh says so (exit 8)', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const { dir } = dumpToJson(t, topo.pid);
  const img = readImage(dir);
  const time = img.namespaces.find((n) => n.type === 'time' && !n.inScope)!;
  stateOf(time, 'time').monotonic.nanoseconds = 5;
  const out = join(tempDir(t), 'img');
  writeImage(out, img);
  const r = nsdump(['plan', out, '--format', 'sh']);
  t.is(r.code, 8);
  t.regex(r.stderr, /^nsdump: time#\d+: offsets with nanoseconds .* whole seconds only/);
  t.is(nsdump(['plan', out, '--format', 'json']).code, 0, 'the JSON plan keeps them');
});

test('--kernel and --no-pidfd choose the attach steps', (t) => {
  const base = Image.parse(JSON.parse(readFileSync(join(CORPUS, 'base.json'), 'utf8')));
  const dir = join(tempDir(t), 'img');
  writeImage(dir, base);
  const attach = (args: string[]) => planOf(t, dir, args).steps.filter((s) => s.op.includes('attach'));
  t.deepEqual(attach(['--kernel', '6.18']).map((s) => s.op), ['attach-pidfd']);
  const pidfd = attach(['--kernel', '6.1'])[0]!;
  t.true(pidfd.op === 'attach-pidfd' && pidfd.flags.includes('user') && pidfd.flags.length === 8);
  t.deepEqual(attach(['--kernel', '5.7']).map((s) => s.op), ['attach-sequence']);
  // 5.4 had no time namespaces at all: refused in one line (exit 8), not planned.
  t.is(nsdump(['plan', dir, '--kernel', '5.4']).code, 8);
  // setns(pidfd) takes CLONE_NEWTIME from 5.9 only, and this set has a time namespace to join.
  t.deepEqual(attach(['--kernel', '5.8']).map((s) => s.op), ['attach-sequence']);
  const seq = attach(['--no-pidfd'])[0]!;
  t.true(seq.op === 'attach-sequence');
  if (seq.op === 'attach-sequence') t.deepEqual(seq.sequence.map((q) => q.type), ['ipc', 'uts', 'pid', 'time', 'user']);
  t.is(nsdump(['plan', dir, '--kernel', 'six']).code, 2);
});

test('docs/plan.schema.json is the one the code generates', (t) => {
  if (!existsSync(join(ROOT, '.git'))) return t.pass('not a git checkout');
  const r = spawnSync('git', ['diff', '--exit-code', '--', 'docs/plan.schema.json'], { cwd: ROOT, encoding: 'utf8' });
  t.is(r.status, 0, `regenerated schema differs from the committed one:\n${r.stdout}`);
});
