// Issue 15: the suite must pass wherever the checkout lives. A copy of the built checkout in a 0700
// directory stands for one cloned under /root or into a mktemp -d: other uids cannot reach it.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsdump } from './helpers/cli.js';
import { inside, sessionMembers } from './helpers/kernel.js';
import { AS_NOBODY, stageCli } from './helpers/other-uid.js';
import { ROOT } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

/** What nobody gets for root's process (this test's own). */
const NEEDS_ROOT = (pid: number) => `nsdump: pid ${pid}: /proc/${pid}/ns/user: permission denied (another user's process: reading it needs root, CAP_SYS_PTRACE)\n`;

/** A copy of what the tests run (package files, dist/, node_modules/, fixtures/) in DIR/co, DIR being 0700 under tmpdir; removed on teardown. */
function privateCheckout(t: ExecutionContext): string {
  const outer = mkdtempSync(join(tmpdir(), 'nsdump-private-'));
  t.teardown(() => rmSync(outer, { recursive: true, force: true }));
  chmodSync(outer, 0o700);
  const co = join(outer, 'co');
  for (const part of ['package.json', 'package-lock.json', 'dist', 'node_modules', 'fixtures']) cpSync(join(ROOT, part), join(co, part), { recursive: true });
  return co;
}

/** A process's effective uid, as the owner of /proc/PID. */
const uidOf = (pid: number) => statSync(`/proc/${pid}`).uid;

test('from a checkout nobody cannot reach, the CLI run as nobody still exits 5 with the reason', (t) => {
  const co = privateCheckout(t);
  // The barrier is real: nobody cannot even load the copy's CLI where it is.
  const direct = nsdump(['dump', String(process.pid)], { prefix: AS_NOBODY, cli: join(co, 'dist', 'bin', 'nsdump.js'), cwd: '/' });
  t.not(direct.code, 5, 'nobody ran the copy where it is: the test proves nothing');
  const r = nsdump(['dump', String(process.pid)], { prefix: AS_NOBODY, ...stageCli(t, co) });
  t.is(r.code, 5);
  t.is(r.stderr, NEEDS_ROOT(process.pid));
});

test('from a checkout uid 100000 cannot reach, the container fixture gets ready', async (t) => {
  const co = privateCheckout(t);
  const script = join(co, 'fixtures', 'topologies', 'container.sh');
  const peek = spawnSync('setpriv', ['--reuid=100000', '--regid=100000', '--clear-groups', 'cat', script], { cwd: '/', encoding: 'utf8' });
  t.not(peek.status, 0, 'uid 100000 can read the copy: the test proves nothing');
  // startTopology runs this checkout's fixtures: run the copy's as it would (same pid, same group).
  const text = readFileSync(script, 'utf8');
  const topo = await startTopology(t, script, { inline: 'exec sh "$0"', ready: Number(/^# ready: (\d+)$/m.exec(text)![1]) });
  t.deepEqual(topo.lines, ['ready']);
  const contained = sessionMembers(topo.pid).filter((p) => uidOf(p.pid) === 100000);
  t.true(contained.length >= 5, 'unshare, the inner shell and its three sleepers run as uid 100000');
  t.is(inside(contained.at(-1)!.pid, ['-u'], ['hostname']), 'container\n');
});

test('from a checkout under a 0700 directory, the suite\'s tests that run the CLI and the container as other uids pass', async (t) => {
  const co = privateCheckout(t);
  // Asynchronously: a spawnSync would hold this worker's other tests for the whole run.
  const child = spawn(
    process.execPath,
    [join(co, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), 'dist/test/dump-errors.test.js', 'dist/test/roundtrip.test.js', '--match', 'a non-root caller*', '--match', 'round trip: container *'],
    { cwd: co, stdio: ['ignore', 'pipe', 'pipe'], timeout: 150_000 },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  t.is(code, 0, out);
  t.regex(out, /2 tests passed/);
});
