// Why: several tests start a long-running nsdump (or plan script) and wait for the one line it
// prints once ready; this is that wait, with a time limit and the child's stderr on failure.
import type { ChildProcess } from 'node:child_process';

export function firstLine(child: ChildProcess, exited: Promise<number | null>, what: string, ms: number, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready in ${ms / 1000} s: ${stderr()}`)), ms);
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
