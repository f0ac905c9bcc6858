// The main proof that restore is right: dump a topology, restore it (--hold), dump the restored
// root, and require `nsdump diff` to find the two equivalent. Also: every sandbox shape of the
// corpus, the cycle inside a rootless container, 1,000 namespaces, a command that prints our
// protocol's words, SIGKILL mid-way and after ready, a step the kernel refuses, bind mounts — and
// after each, nothing the restore made is left (no process, no zombie, no mount).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import { channelRoot } from '../src/restore/executor.js';
import { stateOf } from '../src/model/image.js';
import { NS_TYPES } from '../src/model/species.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { restoreMembers } from './helpers/kernel.js';
import { firstLine } from './helpers/child.js';
import { type Held, hold, restoreGone } from './helpers/restore.js';
import { CLI, ROOT, TOPOLOGIES } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

/** Zombies among what the restore made (a dump of the restored root would trip over them). */
function zombies(executor: number): string[] {
  return restoreMembers(executor)
    .filter((p) => p.state === 'Z')
    .map((p) => `${p.pid} ${p.comm}`);
}

/** `nsdump dump PID` into a fresh directory (large images: no JSON through a pipe). */
function dumpDir(t: import('ava').ExecutionContext, pid: number): string {
  const dir = join(tempDir(t), 'img');
  const d = nsdump(['dump', String(pid), '-o', dir, '-q'], { timeout: 120_000 });
  if (d.code !== 0) throw new Error(`dump ${pid} failed (${d.code}): ${d.stderr}`);
  return dir;
}

/** Dump the restored root, diff against the original: equivalent. */
function assertEquivalent(t: import('ava').ExecutionContext, original: string, held: Held): void {
  t.deepEqual(zombies(held.pid), [], 'no zombie once ready');
  const restored = dumpDir(t, held.ready.root);
  const d = nsdump(['diff', original, restored]);
  t.is(d.code, 0, `${d.stdout}${d.stderr}`);
  t.regex(d.stdout, /^equivalent: \d+ namespaces/);
}

// Every topology, but those that say "# round-trip: no" (a tree that churns by design is dumped
// by dump-anywhere.test.ts; restored, its copy no longer churns, and it is ~500 processes).
const CORPUS = readdirSync(TOPOLOGIES)
  .filter((f) => f.endsWith('.sh') && !/^# round-trip: no\b/m.test(readFileSync(join(TOPOLOGIES, f), 'utf8')))
  .map((f) => f.slice(0, -3))
  .sort();

test('the round-trip corpus has the shapes restore must handle', (t) => {
  t.true(CORPUS.length >= 16, CORPUS.join(', '));
  const must = ['user-chain-limit', 'uts-owned-by-ancestor', 'three-levels', 'time-nested', 'user-multirange', 'ipc-nested', 'pid-nested', 'mixed-children', 'holders', 'container'];
  for (const m of [...must, 'map-user-1000', 'no-maps', 'root-below-uid1000', 'exec-chain', 'time-for-children', 'bwrap-shape']) t.true(CORPUS.includes(m), m);
});

for (const name of CORPUS) {
  test(`round trip: ${name} — dump, restore --hold, dump the restored root, diff: equivalent`, async (t) => {
    const topo = await startTopology(t, name);
    const original = dumpToJson(t, topo.pid).dir;
    const held = await hold(t, original);
    assertEquivalent(t, original, held);
    // Every set's placeholder is in exactly the namespaces the ready line names.
    for (const s of Object.values(held.ready.sets)) for (const ty of NS_TYPES) t.is(statSync(s.ns[ty]!).ino, statSync(`/proc/${s.pid}/ns/${ty}`).ino);
    t.is(await held.stop(), 0, held.stderr());
    t.true(await restoreGone(held.pid), `left: ${JSON.stringify(restoreMembers(held.pid))}`);
  });
}

test('the ready line names every set: its placeholder pid, the dumped pids, /proc paths; a namespace no set uses is reachable', async (t) => {
  const topo = await startTopology(t, 'holders');
  const { dir, img } = dumpToJson(t, topo.pid);
  const held = await hold(t, dir);
  const dumpedPids = img.processes.map((p) => p.pid).sort((a, b) => a - b);
  const listed = Object.values(held.ready.sets).flatMap((s) => s.pids).sort((a, b) => a - b);
  t.deepEqual(listed, dumpedPids);
  // holders: a net namespace held only by an fd: the executor's fd reaches it.
  const held2 = Object.entries(held.ready.held);
  t.true(held2.some(([k]) => k.startsWith('net#')), JSON.stringify(held.ready.held));
  for (const [, path] of held2) t.true(existsSync(path), path);
  t.is(held.ready.root, held.pid, 'the root is the executor: nsdump dump <root> covers every restored namespace');
});

test('inside a rootless container: dump, restore and diff, all from within, nested user namespaces with uid 0 unmapped', async (t) => {
  const dir = tempDir(t);
  const script = `
set -e
unshare --user --map-user=1000 --map-group=1000 --keep-caps --uts --ipc --pid --fork sh -c 'exec unshare --user --map-root-user --uts sh -c "hostname deep; : > ${dir}/tree-ready; exec sleep 100000"' &
tree=$!
until [ -e ${dir}/tree-ready ]; do sleep 0.02; done
node ${CLI} dump $tree -o ${dir}/a -q
node ${CLI} restore ${dir}/a --hold > ${dir}/ready &
r=$!
until [ -s ${dir}/ready ] || ! kill -0 $r 2>/dev/null; do sleep 0.02; done
root=$(sed 's/^{"root":\\([0-9]*\\).*/\\1/' ${dir}/ready)
node ${CLI} dump $root -o ${dir}/b -q
set +e
node ${CLI} diff ${dir}/a ${dir}/b
echo "diff=$?"
kill $r; wait $r; echo "restore=$?"
kill -9 $tree
`;
  // A container with its own uts, ipc and net (as rootless engines make); its root is not global root.
  const r = spawnSync('unshare', ['-U', '-r', '--uts', '--ipc', '--net', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000 });
  t.regex(r.stdout, /^equivalent: /m, r.stderr);
  t.regex(r.stdout, /^diff=0$/m, r.stderr);
  t.regex(r.stdout, /^restore=0$/m, r.stderr);
});

test('1,000 namespaces (143 groups of 7, as a plain unshare loop makes them) round-trip', async (t) => {
  const topo = await startTopology(t, 'groups', { inline: readFileSync(join(ROOT, 'fixtures', 'scale', 'groups.sh'), 'utf8'), args: ['143'], ready: 143 });
  const dir = dumpDir(t, topo.pid);
  t.is(readImage(dir).namespaces.filter((n) => !n.inScope).length, 1001);
  const held = await hold(t, dir);
  assertEquivalent(t, dir, held);
});

test('a command that prints the words of nsdump\'s own protocol is just a command: its output and exit status are its own', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const dir = dumpToJson(t, topo.pid).dir;
  const fake = 'echo "hello 1"; echo "done 1 0"; echo "spawned 2 3"; echo "joined"; echo "nsdump plan: step 3: x" >&2; echo "@nsdump-step 2" >&2; exit 3';
  const r = spawnSync(process.execPath, [CLI, 'restore', dir, '--', 'sh', '-c', fake], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 3, r.stderr);
  t.is(r.stdout, 'hello 1\ndone 1 0\nspawned 2 3\njoined\n');
  t.is(r.stderr, 'nsdump plan: step 3: x\n@nsdump-step 2\n');
});

test('restore -- CMD joins the root\'s set; --pid and --set pick another; the command\'s status is returned', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir, img } = dumpToJson(t, topo.pid);
  const hostnameOf = (pid: number) => stateOf(img.namespaces[img.processes.find((p) => p.pid === pid)!.namespaces.uts! - 1]!, 'uts').hostname;
  const deepest = img.processes.find((p) => hostnameOf(p.pid) === 'level3')!;
  const run = (extra: string[]) => spawnSync(process.execPath, [CLI, 'restore', dir, ...extra, '--', 'sh', '-c', 'cat /proc/sys/kernel/hostname; exit 7'], { encoding: 'utf8', timeout: 60_000 });
  const root = run([]);
  t.is(root.status, 7, root.stderr);
  t.is<unknown, unknown>(root.stdout.trim(), hostnameOf(topo.pid));
  const byPid = run(['--pid', String(deepest.pid)]);
  t.is(byPid.stdout.trim(), 'level3', byPid.stderr);
  const plan = JSON.parse(nsdump(['plan', dir, '-f', 'json']).stdout) as { steps: { op: string; set: number; pids: number[] }[] };
  const set = plan.steps.find((s) => s.op === 'spawn' && s.pids.includes(deepest.pid))!.set;
  t.is(run(['--set', String(set)]).stdout.trim(), 'level3');
  const bad = run(['--pid', '1']);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /^nsdump: --pid 1: no process of the dumped tree has that pid\n$/);
});

test('restore --no-pidfd -- CMD joins one namespace at a time and runs CMD in the dumped root\'s namespaces', async (t) => {
  const topo = await startTopology(t, 'container');
  const dir = dumpToJson(t, topo.pid).dir;
  const img = readImage(dir);
  // The container's inner shell: a process in every namespace the container made.
  const inner = img.processes.find((p) => p.comm === 'sh' && !img.namespaces[p.namespaces.uts! - 1]!.inScope)!;
  const r = spawnSync(process.execPath, [CLI, 'restore', dir, '--no-pidfd', '--pid', String(inner.pid), '--', 'sh', '-c', 'cat /proc/sys/kernel/hostname /proc/sys/kernel/msgmnb; exit 4'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 4, r.stderr);
  t.is(r.stdout, 'container\n65536\n');
});

test('restore -- CMD run by a root without CAP_SETGID, in a user namespace that denies setgroups: CMD keeps restore\'s ids rather than failing to join', async (t) => {
  const topo = await startTopology(t, 'deny-setgroups', { inline: `exec unshare --user --map-root-user --uts --fork sh -c 'echo ready; exec sleep 100000'` });
  const { dir } = dumpToJson(t, topo.pid);
  // nsenter --setgid drops supplementary groups first; without CAP_SETGID here and with setgroups
  // denied there, it gives up. Everything else the restore does needs no CAP_SETGID.
  const r = nsdump(['restore', dir, '--', 'sh', '-c', 'id -u; id -g'], { prefix: ['setpriv', '--bounding-set=-setgid', '--'] });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '0\n0\n');
});

test('hostnames are data: hostile ones, a newline included, are restored verbatim', async (t) => {
  const topo = await startTopology(t, 'uts-owned-by-ancestor');
  const { dir } = dumpToJson(t, topo.pid);
  const img = readImage(dir);
  const canary = join(tempDir(t), 'pwned');
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope)!;
  const hostile = `$(touch ${canary})\n'; touch ${canary}`.slice(0, 64);
  stateOf(uts, 'uts').hostname = hostile;
  const bad = join(tempDir(t), 'img');
  writeImage(bad, img);
  const held = await hold(t, bad);
  const names = dumpToJson(t, held.ready.root).img.namespaces.filter((n) => n.type === 'uts').map((n) => stateOf(n, 'uts').hostname);
  t.true(names.includes(hostile), JSON.stringify(names));
  t.false(existsSync(canary), 'no command from the image ran');
});

test('a restore SIGKILLed mid-way leaves no process behind', async (t) => {
  const topo = await startTopology(t, 'user-chain-limit');
  const dir = dumpToJson(t, topo.pid).dir;
  // A TMPDIR of its own: any other test's restore would sweep the killed one's FIFO directory too.
  const tmp = tempDir(t);
  const env = { ...process.env, TMPDIR: tmp };
  const child = spawn(process.execPath, [CLI, 'restore', dir, '--hold', '--json'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  t.teardown(() => restoreGone(child.pid!));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // Kill it in the middle of making the 33-level chain.
      if ((err.match(/"event":"step"/g) ?? []).length >= 12) resolve();
    });
    child.once('exit', (c) => reject(new Error(`restore ended (${c}) before 12 steps: ${err}`)));
  });
  t.true(restoreMembers(child.pid!).length > 0, 'it had made processes');
  process.kill(child.pid!, 'SIGKILL');
  t.true(await restoreGone(child.pid!), `left: ${JSON.stringify(restoreMembers(child.pid!))}`);
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  // Its FIFO directory stays (nothing can remove it then); the next restore sweeps it.
  const dirOf = () => readdirSync(tmp).filter((n) => n.startsWith(`nsdump-restore-${child.pid}-`));
  t.is(dirOf().length, 1);
  t.is(spawnSync(process.execPath, [CLI, 'restore', dir, '--', 'true'], { env, stdio: 'ignore', timeout: 60_000 }).status, 0);
  t.deepEqual(dirOf(), []);
});

test('a restore in a pid namespace of its own, which sees none of the host\'s pids, leaves a live restore\'s FIFO directory alone', async (t) => {
  const topo = await startTopology(t, 'user-chain-limit');
  const dir = dumpToJson(t, topo.pid).dir;
  const held = await hold(t, dir);
  const dirOf = () => readdirSync(channelRoot()).filter((n) => n.startsWith(`nsdump-restore-${held.pid}-`));
  t.is(dirOf().length, 1);
  // From inside, pid ${held.pid} does not exist: only the directory's lock says its restore lives.
  const inner = nsdump(['restore', dir, '--', 'true'], { prefix: ['unshare', '--pid', '--fork', '--mount-proc'] });
  t.is(inner.code, 0, inner.stderr);
  t.is(dirOf().length, 1);
  t.is(await held.stop(), 0);
});

/**
 * Restores with --bind run in a mount namespace of their own: bind mounts in the host's would show
 * up as holders in every other test's dump (kernel-notes), and those run at the same time. The
 * namespace is kept by a shell that outlives the restore, so --unbind can be tried after a SIGKILL.
 */
async function privateMounts(t: import('ava').ExecutionContext): Promise<{ prefix: string[]; pid: number }> {
  const keeper = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'echo ready; exec sleep 100000'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    try {
      process.kill(keeper.pid!, 'SIGKILL');
    } catch {}
  });
  // unshare --mount waits for the kernel's mount namespace lock, which many namespaces torn down at
  // once (other tests) can hold for seconds: 10 s was not enough on a loaded machine.
  await firstLine(keeper, new Promise(() => undefined), 'mount namespace keeper', 60_000, () => '');
  return { prefix: ['nsenter', `--mount=/proc/${keeper.pid}/ns/mnt`, '--'], pid: keeper.pid! };
}

test('a restore SIGKILLed after ready leaves no process behind; its --bind mounts are removed by --unbind', async (t) => {
  const topo = await startTopology(t, 'container');
  const dir = dumpToJson(t, topo.pid).dir;
  const binds = join(tempDir(t), 'ns');
  const mnt = await privateMounts(t);
  const held = await hold(t, dir, ['--bind', binds], mnt.prefix);
  const set = Object.values(held.ready.sets).find((s) => s.bound && Object.keys(s.bound).length)!;
  t.truthy(set, JSON.stringify(held.ready.sets));
  // Every namespace the restore made in that set is bound, or said why not (a mount namespace the
  // kernel's loop check refuses, by id: see docs/restore.md).
  for (const s of Object.values(held.ready.sets)) t.deepEqual(Object.keys(s.unbound ?? {}).filter((ty) => ty !== 'mnt'), []);
  const inode = (path: string) => Number(spawnSync('nsenter', [`--mount=/proc/${mnt.pid}/ns/mnt`, '--', 'stat', '-L', '-c', '%i', path], { encoding: 'utf8' }).stdout);
  for (const [ty, path] of Object.entries(set.bound!)) t.is(inode(path), statSync(`/proc/${set.pid}/ns/${ty}`).ino, path);
  process.kill(held.pid, 'SIGKILL');
  t.true(await restoreGone(held.pid), `left: ${JSON.stringify(restoreMembers(held.pid))}`);
  // A killed process cannot unmount: the namespaces stay reachable until --unbind.
  const mounted = () => readFileSync(`/proc/${mnt.pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(`${binds}/`)).length;
  t.true(mounted() > 0);
  const u = spawnSync(mnt.prefix[0]!, [...mnt.prefix.slice(1), process.execPath, CLI, 'restore', '--unbind', binds], { encoding: 'utf8' });
  t.is(u.status, 0, u.stderr);
  t.is(mounted(), 0);
  t.deepEqual(readdirSync(binds), [], 'the files made to mount on are gone');
});

test('--bind and --netns-prefix are undone at release', async (t) => {
  const topo = await startTopology(t, 'container');
  const dir = dumpToJson(t, topo.pid).dir;
  const binds = join(tempDir(t), 'ns');
  const prefix = `nsdump-test-${process.pid}`;
  const mnt = await privateMounts(t);
  const held = await hold(t, dir, ['--bind', binds, '--netns-prefix', prefix], mnt.prefix);
  const netns = Object.values(held.ready.sets).flatMap((s) => (s.bound?.netns ? [s.bound.netns] : []));
  t.true(netns.length > 0);
  for (const p of netns) t.true(existsSync(p), p);
  t.is(await held.stop(), 0, held.stderr());
  for (const p of netns) t.false(existsSync(p), p);
  t.false(readFileSync(`/proc/${mnt.pid}/mountinfo`, 'utf8').includes(binds), 'nothing mounted under the bind directory');
});

test('--no-bind: the bind mounts that held namespaces in the dump are not made again, and nothing is bound elsewhere', async (t) => {
  const topo = await startTopology(t, 'holders');
  const dir = dumpToJson(t, topo.pid).dir;
  // In a directory of its own: yargs once read --no-bind as "--bind false" and bound under ./false.
  const cwd = tempDir(t);
  const held = await hold(t, dir, ['--no-bind'], ['env', '-C', cwd]);
  for (const s of Object.values(held.ready.sets)) t.deepEqual(Object.keys(s.bound ?? {}), [], JSON.stringify(s));
  t.false(existsSync(join(cwd, 'false')));
  // The uts namespace the dump found held by a bind mount on /mnt/uts is made, but not bound there.
  const nsfsMounts = Object.values(held.ready.sets).flatMap((s) => readFileSync(`/proc/${s.pid}/mountinfo`, 'utf8').split('\n').filter((l) => / - nsfs /.test(l)));
  t.deepEqual(nsfsMounts, []);
  t.is(await held.stop(), 0, held.stderr());
});

test('a placeholder killed while held: the restore releases everything else, exit 9, one line', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const dir = dumpToJson(t, topo.pid).dir;
  const held = await hold(t, dir);
  const victim = Object.values(held.ready.sets).find((s) => s.pid !== held.ready.root)!;
  process.kill(victim.pid, 'SIGKILL');
  const code = await held.exited;
  t.is(code, 9, held.stderr());
  t.regex(held.stderr(), new RegExp(`^nsdump: process ${victim.pid} of the restore exited: everything else was released\\n$`));
  t.true(await restoreGone(held.pid), `left: ${JSON.stringify(restoreMembers(held.pid))}`);
});

test('a step the kernel refuses: exit 9, one line naming the process and the kernel\'s reason, everything released', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const img = readImage(dumpToJson(t, topo.pid).dir);
  // Well formed, refused by the kernel: the level-2 map names an id its parent does not map.
  const l2 = img.namespaces.find((n) => n.type === 'user' && stateOf(n, 'user').level === 2)!;
  stateOf(l2, 'user').uidMap = [{ inside: 0, outside: 5, count: 1 }];
  const dir = join(tempDir(t), 'img');
  writeImage(dir, img);
  const child = spawn(process.execPath, [CLI, 'restore', dir, '--hold'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  t.is(code, 9, err);
  t.regex(err, /^nsdump: process \d+ \(.*\): cannot write the maps of user#\d+: .+/);
  t.is(err.split('\n').filter(Boolean).length, 1, err);
  t.true(await restoreGone(child.pid!));
});

test('what the target host cannot take is refused before anything is made: a time offset below minus its clock (exit 8)', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const img = readImage(dumpToJson(t, topo.pid).dir);
  const time = img.namespaces.find((n) => n.type === 'time' && !n.inScope)!;
  stateOf(time, 'time').monotonic.seconds = -4_000_000_000;
  const dir = join(tempDir(t), 'img');
  writeImage(dir, img);
  const r = nsdump(['restore', dir, '--hold']);
  t.is(r.code, 8, r.stderr);
  t.regex(r.stderr, /^nsdump: time#\d+: a monotonic offset of -4000000000 s is below minus this host's monotonic clock .*ERANGE\)\n$/);
});

test('diff says what changed, exit 1, naming image ids, inodes and a pid; --json for scripts', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const a = dumpToJson(t, topo.pid).dir;
  const img = readImage(a);
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope && stateOf(n, 'uts').hostname === 'level2')!;
  stateOf(uts, 'uts').hostname = 'b';
  const b = join(tempDir(t), 'img');
  writeImage(b, img);
  const line = `uts#${uts.id} [${uts.inode}] (first) ~ uts#${uts.id} [${uts.inode}] (second): hostname "level2" → "b"`;
  const r = nsdump(['diff', a, b]);
  t.is(r.code, 1);
  t.is(r.stdout, `${line}\n`);
  const j = nsdump(['diff', a, b, '--json']);
  t.is(j.code, 1);
  const pid = [...img.processes.map((p) => ({ id: p.pid, refs: p.namespaces })), ...img.threads.map((x) => ({ id: x.tid, refs: x.namespaces }))].find((p) => Object.values(p.refs).includes(uts.id))?.id;
  const site = { id: uts.id, type: 'uts', inode: uts.inode, ...(pid === undefined ? {} : { pid }) };
  t.deepEqual(JSON.parse(j.stdout), { equivalent: false, undecided: false, differences: [{ kind: 'state', message: line, first: site, second: site }] });
  t.is(nsdump(['diff', a, a]).code, 0);
  t.is(nsdump(['diff', a, join(a, 'nope')]).code, 3);
});

test('restore needs --hold or a command', (t) => {
  const r = nsdump(['restore', '/nonexistent']);
  t.is(r.code, 2);
  t.regex(r.stderr, /say --hold, or give a command after --/);
  writeFileSync(join(tempDir(t), 'x'), '');
});

test('nsdump demo goes through the whole cycle, finds the copy equivalent, and leaves nothing behind', async (t) => {
  const child = spawn(process.execPath, [CLI, 'demo'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  t.is(code, 0, err);
  for (const stage of ['1. build', '2. nsdump dump', '3. nsdump show', '4. nsdump plan', '5. nsdump restore', '6. nsdump dump', '7. clean up']) t.true(out.includes(`== ${stage}`), stage);
  t.regex(out, /hostname "demo-inner"/);
  t.regex(out, /^equivalent: /m);
  const executor = Number(/every namespace is under pid (\d+)/.exec(out)?.[1]);
  t.true(await restoreGone(executor), 'no process of the demo\'s restore is left');
});

test('a relative TMPDIR: the FIFO directory is made absolute, the restore works and leaves nothing there', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir } = dumpToJson(t, topo.pid);
  const cwd = tempDir(t);
  mkdirSync(join(cwd, 'rel'));
  const r = spawnSync(process.execPath, [CLI, 'restore', dir, '--', 'cat', '/proc/sys/kernel/hostname'], { cwd, env: { ...process.env, TMPDIR: 'rel' }, encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout.trim(), 'level1');
  t.deepEqual(readdirSync(join(cwd, 'rel')), [], 'the FIFO directory is removed at release');
});
