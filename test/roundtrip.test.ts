// The main proof that plans are right: dump a topology, restore it (--hold), dump the restored
// root, and require `nsdump diff` to find the two equivalent. Also: a restore killed mid-way, and
// one whose step the kernel refuses, leave nothing behind.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import type { StateOf } from '../src/model/image.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { sessionMembers } from './helpers/kernel.js';
import { firstLine } from './helpers/child.js';
import { CLI, TOPOLOGIES } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

interface Held {
  root: number;
  stop(): Promise<number | null>;
  stderr(): string;
}

/** `nsdump restore DIR --hold` in its own session; stopped (and the session killed) on teardown. */
async function hold(t: import('ava').ExecutionContext, dir: string, extra: string[] = []): Promise<Held> {
  const child = spawn(process.execPath, [CLI, 'restore', dir, '--hold', ...extra], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    try {
      process.kill(child.pid!, 'SIGTERM');
    } catch {}
    return exited;
  };
  t.teardown(async () => {
    await stop();
    await sessionGone(child.pid!);
  });
  const line = await firstLine(child, exited, 'restore', 60_000, () => err);
  return { root: (JSON.parse(line) as { root: number }).root, stop, stderr: () => err };
}

/** Wait until no process of session `sid` is left (up to 20 s: the suite loads the machine); true if none is. */
async function sessionGone(sid: number): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (sessionMembers(sid).length === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const p of sessionMembers(sid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
  }
  return false;
}

const CORPUS = readdirSync(TOPOLOGIES).filter((f) => f.endsWith('.sh')).map((f) => f.slice(0, -3)).sort();

test('the round-trip corpus has at least ten topologies', (t) => {
  t.true(CORPUS.length >= 10, CORPUS.join(', '));
  for (const must of ['user-chain-limit', 'uts-owned-by-ancestor', 'three-levels', 'time-nested', 'user-multirange', 'ipc-nested', 'pid-nested', 'mixed-children', 'holders']) t.true(CORPUS.includes(must), must);
});

for (const name of CORPUS) {
  test(`round trip: ${name} — dump, restore --hold, dump the restored root, diff: equivalent`, async (t) => {
    const topo = await startTopology(t, name);
    const original = dumpToJson(t, topo.pid).dir;
    const held = await hold(t, original);
    const restored = dumpToJson(t, held.root).dir;
    const d = nsdump(['diff', original, restored]);
    t.is(d.code, 0, `${d.stdout}${d.stderr}`);
    t.regex(d.stdout, /^equivalent: \d+ namespaces/);
    t.is(await held.stop(), 0, held.stderr());
  });
}

test('diff says what changed, exit 1, and --json for scripts', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const a = dumpToJson(t, topo.pid).dir;
  const img = readImage(a);
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope && (n.state as StateOf<'uts'>).hostname === 'level2')!;
  (uts.state as StateOf<'uts'>).hostname = 'b';
  const b = join(tempDir(t), 'img');
  writeImage(b, img);
  const r = nsdump(['diff', a, b]);
  t.is(r.code, 1);
  t.is(r.stdout, 'uts ns owned by a user ns at level 2 (hostname "level2"): hostname "level2" → "b"\n');
  const j = nsdump(['diff', a, b, '--json']);
  t.is(j.code, 1);
  t.deepEqual(JSON.parse(j.stdout), { equivalent: false, differences: [{ kind: 'state', message: 'uts ns owned by a user ns at level 2 (hostname "level2"): hostname "level2" → "b"' }] });
  t.is(nsdump(['diff', a, a]).code, 0);
  t.is(nsdump(['diff', a, join(a, 'nope')]).code, 3);
});

test('a restore killed mid-way leaves no process behind', async (t) => {
  const topo = await startTopology(t, 'user-chain-limit');
  const dir = dumpToJson(t, topo.pid).dir;
  const child = spawn(process.execPath, [CLI, 'restore', dir, '--hold', '--json'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => sessionGone(child.pid!));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // Kill it in the middle of making the 33-level chain.
      if (/"event":"step","n":12,/.test(err)) resolve();
    });
    child.once('exit', (c) => reject(new Error(`restore ended (${c}) before step 12: ${err}`)));
  });
  process.kill(child.pid!, 'SIGKILL');
  t.true(await sessionGone(child.pid!), `left: ${JSON.stringify(sessionMembers(child.pid!))}`);
});

test('a step the kernel refuses: exit 9, the step and the reason named, everything released', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const img = readImage(dumpToJson(t, topo.pid).dir);
  // Valid for the image format, refused by this kernel: the clock would go below zero.
  const time = img.namespaces.find((n) => n.type === 'time' && !n.inScope)!;
  (time.state as StateOf<'time'>).monotonic.seconds = -4_000_000_000;
  const dir = join(tempDir(t), 'img');
  writeImage(dir, img);
  const child = spawn(process.execPath, [CLI, 'restore', dir, '--hold'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  t.is(code, 9, err);
  t.regex(err, /^nsdump: step \d+ \(create time#\d+ .*\): .*(Numerical result out of range|ERANGE|unshare)/m);
  t.true(await sessionGone(child.pid!));
});

test('restore needs --hold or a command', (t) => {
  const r = nsdump(['restore', '/nonexistent']);
  t.is(r.code, 2);
  t.regex(r.stderr, /say --hold, or give a command after --/);
  writeFileSync(join(tempDir(t), 'x'), '');
});

test('nsdump demo goes through the whole cycle, finds the copy equivalent, and leaves nothing behind', async (t) => {
  const child = spawn(process.execPath, [CLI, 'demo'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => sessionGone(child.pid!));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  t.is(code, 0, err);
  for (const stage of ['1. build', '2. nsdump dump', '3. nsdump show', '4. nsdump plan', '5. nsdump restore', '6. nsdump dump', '7. clean up']) t.true(out.includes(`== ${stage}`), stage);
  t.regex(out, /hostname "demo-inner"/);
  t.regex(out, /^equivalent: /m);
  t.true(await sessionGone(child.pid!), 'no process of the demo is left');
});

test('restore --no-pidfd -- CMD joins one namespace at a time and runs CMD in the dumped root\'s namespaces', async (t) => {
  const topo = await startTopology(t, 'container');
  const dir = dumpToJson(t, topo.pid).dir;
  const img = readImage(dir);
  // The container's inner shell: a process in every namespace the container made.
  const inner = img.processes.find((p) => p.comm === 'sh' && !img.namespaces[p.namespaces.uts! - 1]!.inScope)!;
  // Restore only what that shell saw, as if it were the root: rewrite the image's root pid.
  img.inventory.rootPid = inner.pid;
  const moved = join(tempDir(t), 'img');
  writeImage(moved, img);
  const r = spawnSync(process.execPath, [CLI, 'restore', moved, '--no-pidfd', '--', 'sh', '-c', 'cat /proc/sys/kernel/hostname /proc/sys/kernel/msgmnb; exit 4'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 4, r.stderr);
  t.is(r.stdout, 'container\n65536\n');
});
