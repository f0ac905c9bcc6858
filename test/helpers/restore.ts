// Why: several test files hold a restore (restore --hold) and must end it, and check that nothing
// it made is left, whatever the test's outcome: one way to do it.
import { spawn } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { firstLine } from './child.js';
import { dumpToJson, nsdump } from './cli.js';
import { restoreMembers } from './kernel.js';
import { CLI } from './paths.js';

export interface SetInfo {
  pid: number;
  pids: number[];
  ns: Record<string, string>;
  bound?: Record<string, string>;
  unbound?: Record<string, string>;
}
export interface Ready {
  root: number;
  rootSet: number;
  sets: Record<string, SetInfo>;
  held: Record<string, string>;
}
export interface Held {
  ready: Ready;
  pid: number;
  /** Resolves with the exit code once it ended by itself. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  stderr(): string;
}

/** Wait (up to 20 s: the suite loads the machine) until nothing restore `pid` made is left; true if so. */
export async function restoreGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 400; i++) {
    if (restoreMembers(pid).length === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const p of restoreMembers(pid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
  }
  return false;
}

/** `nsdump restore DIR --hold`; stopped, and everything it made checked gone, on teardown. */
export async function hold(t: ExecutionContext, dir: string, extra: string[] = [], prefix: string[] = []): Promise<Held> {
  const argv = [...prefix, process.execPath, CLI, 'restore', dir, '--hold', ...extra];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close', not 'exit': only then has all of stderr (the reason of a failure) been read.
  const exited = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
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
    await restoreGone(child.pid!);
  });
  const line = await firstLine(child, exited, 'restore', 90_000, () => err);
  return { ready: JSON.parse(line) as Ready, pid: child.pid!, exited, stop, stderr: () => err };
}

/**
 * The round trip of an image of a real peer's sandbox: `restore --hold` it, dump the restored
 * root, require `nsdump diff` to find the two equivalent, then end the restore and check that
 * nothing it made is left.
 */
export async function assertRoundTrip(t: ExecutionContext, dir: string): Promise<void> {
  const held = await hold(t, dir);
  const restored = dumpToJson(t, held.ready.root);
  const d = nsdump(['diff', dir, restored.dir]);
  t.is(d.code, 0, `${d.stdout}${d.stderr}`);
  t.is(await held.stop(), 0, held.stderr());
  t.true(await restoreGone(held.pid), JSON.stringify(restoreMembers(held.pid)));
}
