// Why: synchronous /proc reads that turn Node's fs errors into SyscallErrors naming the path.
// Synchronous on purpose: some reads must happen on the main thread while it sits in another
// namespace (kernel-notes), and a dump reads thousands of tiny files where async costs more.
import { readFileSync, readdirSync } from 'node:fs';
import { fromNodeError } from '../kernel/errors.js';
import type { Mount } from '../model/image.js';

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw fromNodeError(err, path);
  }
}

/** /proc/PID/stat: comm is parenthesised and may itself hold ") ", so split at the last one. */
export function parseStat(text: string): { comm: string; state: string; ppid: number; flags: number } {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]), flags: Number(rest[6]) };
}

/** PF_KTHREAD: a kernel thread, which has no user-space side (and no mount table to read). */
export const PF_KTHREAD = 0x00200000;

/** The NSpid line of /proc/PID/status: pids from the reader's pid namespace inwards. */
export function parseNsPid(status: string): number[] {
  const m = /^NSpid:\s*(.*)$/m.exec(status);
  if (!m) return [];
  return m[1]!.trim().split(/\s+/).map(Number);
}

/**
 * The children of process `pid` (or of this one), of every thread of it: each thread's
 * task/TID/children lists what that thread forked, or what was re-parented to it. [] once gone.
 */
export function childrenOf(pid: number | 'self'): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      // Read whole: a restore of 10,000 namespaces has a list longer than a page.
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Undo the octal escapes (\040 for space, …) the kernel writes into mountinfo paths. */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/PID/mountinfo: optional fields end at " - "; paths are octal-escaped. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0) continue;
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2]!,
      root: unescapeOctal(f[3]!),
      mountPoint: unescapeOctal(f[4]!),
      options: f[5]!,
      fsType: f[dash + 1]!,
      source: unescapeOctal(f[dash + 2] ?? ''),
      superOptions: f[dash + 3] ?? '',
    });
  }
  return out;
}
