// Bad input and permission edges: one clear line, the documented exit code, nothing half-written.
import test from 'ava';
import * as childProcess from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsdump, tempDir } from './helpers/cli.js';
import { AS_NOBODY, stageCli } from './helpers/other-uid.js';
import { startTopology } from './helpers/topology.js';
import { sessionMembers } from './helpers/kernel.js';
import { dumpTree } from '../src/discover/dump.js';
import { TreeChangedError } from '../src/discover/errors.js';
import type { Image } from '../src/model/image.js';

const oneLine = (s: string) => s.trim().split('\n').length === 1;

/** Running or sleeping, not exited (a zombie counts as exited). */
function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('a pid that does not exist: exit 4, one line, nothing written', (t) => {
  const parent = tempDir(t);
  const r = nsdump(['dump', '4000000', '-o', join(parent, 'img')]);
  t.is(r.code, 4);
  t.is(r.stderr, 'nsdump: pid 4000000: no such process\n');
  t.deepEqual(readdirSync(parent), []);
});

test('a pid that is not a number: usage error, exit 2', (t) => {
  const r = nsdump(['dump', 'abc']);
  t.is(r.code, 2);
  t.is(r.stderr, 'nsdump: abc: not a process id\n');
});

test('EACCES on a process (PID 1 is ptrace-protected here even for root): exit 5', (t) => {
  const parent = tempDir(t);
  const r = nsdump(['dump', '1', '-o', join(parent, 'img')]);
  t.is(r.code, 5);
  t.true(oneLine(r.stderr));
  t.regex(r.stderr, /^nsdump: pid 1: \/proc\/1\/\S+: permission denied/);
  t.deepEqual(readdirSync(parent), []);
});

test('a non-root caller dumping another user\'s process: exit 5 with the reason', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  const parent = tempDir(t);
  // The output's parent is nobody's to write to, as it would be for a user dumping into their own
  // directory: -o is checked before the dump starts (exit 6), and this is about the process.
  chmodSync(parent, 0o777);
  // Nobody may not reach the checkout (it can live under /root): run a world-readable copy of the CLI.
  const r = nsdump(['dump', String(topo.pid), '-o', join(parent, 'img')], { prefix: AS_NOBODY, ...stageCli(t) });
  t.is(r.code, 5);
  t.is(r.stderr, `nsdump: pid ${topo.pid}: /proc/${topo.pid}/ns/user: permission denied (another user's process: reading it needs root, CAP_SYS_PTRACE)\n`);
  t.deepEqual(readdirSync(parent), []);
});

test('an output directory that exists: exit 6, left untouched', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  const parent = tempDir(t);
  const out = join(parent, 'img');
  mkdirSync(out);
  const r = nsdump(['dump', String(topo.pid), '-o', out]);
  t.is(r.code, 6);
  t.is(r.stderr, `nsdump: ${out}: already exists (nsdump never overwrites an image)\n`);
  t.deepEqual(readdirSync(out), []);
  t.deepEqual(readdirSync(parent), ['img'], 'no temporary directory left beside it');
});

test('an output directory whose parent is missing: exit 6', (t) => {
  const r = nsdump(['dump', String(process.pid), '-o', '/nonexistent-nsdump/x/img']);
  t.is(r.code, 6);
  t.true(oneLine(r.stderr));
  t.regex(r.stderr, /parent directory \/nonexistent-nsdump\/x does not exist/);
});

/** Wait (synchronously: onStage runs inside the dump) until a killed process has exited. */
function awaitExit(pid: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 1000 && isLive(pid); i++) Atomics.wait(pause, 0, 0, 5);
}

test('a process that exits mid-dump is left out: it no longer exists', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  let victim = 0;
  const img = await dumpTree(topo.pid, {
    onStage: (stage) => {
      if (stage !== 'namespaces') return;
      // Kill the deepest sleeper after it was read, before the dump finishes.
      victim = sessionMembers(topo.pid).filter((p) => p.comm === 'sleep').pop()!.pid;
      process.kill(victim, 'SIGKILL');
      awaitExit(victim);
    },
  });
  t.false(img.processes.some((p) => p.pid === victim));
  const live = sessionMembers(topo.pid).map((p) => p.pid);
  t.deepEqual(img.processes.map((p) => p.pid), live, 'everything else is there');
});

test('a parent that exits mid-dump, leaving its child elsewhere, makes the dump try again (exit 7 at last)', async (t) => {
  const topo = await startTopology(t, 'orphan', { inline: 'sh -c \'sleep 100000 & echo ready; wait\' & wait; sleep 100000' });
  let middle = 0;
  const err = await t.throwsAsync(
    dumpTree(topo.pid, {
      onStage: (stage) => {
        if (stage !== 'namespaces') return;
        middle = sessionMembers(topo.pid).find((p) => p.comm === 'sh' && p.pid !== topo.pid)!.pid;
        process.kill(middle, 'SIGKILL');
        awaitExit(middle);
      },
    }),
    { instanceOf: TreeChangedError },
  );
  t.regex(err!.message, new RegExp(`pid ${middle}, the parent of pid \\d+, exited; the tree changed during the dump`));
});

test('a caller inside a container dumps its scope and records where the edge is', async (t) => {
  const parent = tempDir(t);
  const out = join(parent, 'img');
  // nsdump runs as root of a new user namespace, in new pid and mount namespaces, and dumps a sibling.
  const { CLI } = await import('./helpers/paths.js');
  const script = `sleep 100000 & exec ${process.execPath} ${CLI} dump $! -o ${out} -q`;
  const r = childProcess.spawnSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  const s = nsdump(['show', out, '--json']);
  t.is(s.code, 0, s.stderr);
  const img = JSON.parse(s.stdout) as Image;
  const own = new Map(img.inventory.scope.map((e) => [e.type, e.id]));
  const user = img.namespaces.find((n) => n.id === own.get('user'))!;
  t.false(user.initial);
  t.true(user.parentBeyondScope, 'the container cannot see its user namespace\'s parent');
  t.is(user.parent, null);
  const pid = img.namespaces.find((n) => n.id === own.get('pid'))!;
  t.true(pid.parentBeyondScope);
  // uts, net, ipc, cgroup and time still belong to the host's user namespace: beyond scope.
  for (const type of ['uts', 'net', 'ipc', 'cgroup', 'time'] as const) {
    const n = img.namespaces.find((x) => x.id === own.get(type))!;
    t.true(n.ownerBeyondScope, `${type} owner beyond scope`);
    t.is(n.owner, null);
  }
  // The mount namespace made inside the container is owned by the container's user namespace.
  t.is(img.namespaces.find((x) => x.id === own.get('mnt'))!.owner, user.id);
  t.is(img.processes.length, 1);
  t.deepEqual(img.processes[0]!.nspid, [2]);
});
