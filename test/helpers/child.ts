// Why: several tests start a long-running nsdump (or plan script) and wait for the one line it
// prints once ready; this is that wait, with a time limit and the child's stderr on failure.
import type { ChildProcess } from 'node:child_process';

/**
 * setTimeout for a wait on a child's output, whose expiry runs only once output already waiting
 * has been read: a test file's other tests block the event loop in spawnSync, and when it runs
 * again, timers come before I/O — a line that arrived in time would be counted as missing.
 */
export function expireAfter(ms: number, expire: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(expire), ms);
}

export function firstLine(child: ChildProcess, exited: Promise<number | null>, what: string, ms: number, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = expireAfter(ms, () => reject(new Error(`${what} not ready in ${ms / 1000} s: ${stderr()}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, i));
      }
    });
    void exited.then((c) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${c}: ${stderr()}`));
    });
  });
}
