// Why: tests need real namespaces. A topology script (fixtures/topologies/*.sh) runs in its own
// session and process group; the test waits for its "ready" lines and always kills the whole group
// by its id on teardown, also when the test fails.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { TOPOLOGIES } from './paths.js';
import { expireAfter } from './child.js';

export interface Topology {
  /** Root of the tree: the script's own process. */
  pid: number;
  /** Lines it printed before and with "ready". */
  lines: string[];
}

const live = new Set<number>();
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
  live.delete(pgid);
}
// A test process that dies on a signal must not leave holders behind either.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const g of live) killGroup(g);
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const g of live) killGroup(g);
});

async function groupGone(pgid: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start a script from fixtures/topologies (or any sh text with `inline`) and wait until it is ready. */
export async function startTopology(t: ExecutionContext, name: string, opts: { args?: string[]; inline?: string; ready?: number } = {}): Promise<Topology> {
  const script = `${TOPOLOGIES}${name}.sh`;
  const text = opts.inline ?? readFileSync(script, 'utf8');
  const ready = opts.ready ?? Number(/^# ready: (\d+)$/m.exec(text)?.[1] ?? 1);
  const args = opts.inline ? ['-c', opts.inline, name, ...(opts.args ?? [])] : [script, ...(opts.args ?? [])];
  const child = spawn('sh', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  live.add(pid);
  t.teardown(async () => {
    killGroup(pid);
    await groupGone(pid);
  });
  const lines: string[] = [];
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    let buf = '';
    const timer = expireAfter(30_000, () => reject(new Error(`${name}: not ready after 30 s (${lines.join(' | ')}; stderr: ${err})`)));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line === 'ready' && ++seen === ready) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with ${code} before ready (stderr: ${err})`));
    });
  });
  child.stdout.removeAllListeners('data');
  child.stdout.resume();
  return { pid, lines };
}
