// Why: synchronous /proc reads that turn Node's fs errors into SyscallErrors naming the path.
// Synchronous on purpose: some reads must happen on the main thread while it sits in another
// namespace (kernel-notes), and a dump reads thousands of tiny files where async costs more.
import { readFileSync } from 'node:fs';
import { fromNodeError } from '../kernel/errors.js';

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fromNodeError(err, path);
  }
}

/** /proc/PID/stat: comm is parenthesised and may itself hold ") ", so split at the last one. */
export function parseStat(text: string): { comm: string; state: string; ppid: number } {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]) };
}

/** The NSpid line of /proc/PID/status: pids from the reader's pid namespace inwards. */
export function parseNsPid(status: string): number[] {
  const m = /^NSpid:\s*(.*)$/m.exec(status);
  if (!m) return [];
  return m[1]!.trim().split(/\s+/).map(Number);
}

/** Undo the octal escapes (\040 for space, …) the kernel writes into mountinfo paths. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
