// Why: user and time namespaces cannot be entered by a multi-threaded process, so state that can
// only be read from inside them (a user namespace no process is in, a time namespace nobody has as
// time_for_children) is read by util-linux nsenter, which is single-threaded.
import { spawnSync } from 'node:child_process';

export class HelperError extends Error {
  override readonly name = 'HelperError';
}

/**
 * Enter the namespace at `nsPath` (a path nsenter can open: /proc/PID/fd/N works for our own fds)
 * and print the given /proc/self files, separated by a line "--nsdump--".
 */
export function readInside(type: 'user' | 'time', nsPath: string, files: string[]): string[] {
  const script = files.map((f) => `cat ${f} && echo --nsdump--`).join(' && ');
  const args = [`--${type}=${nsPath}`];
  // Without it nsenter -U switches to uid/gid 0, which fails where 0 is not mapped.
  if (type === 'user') args.push('--preserve-credentials');
  args.push('--', '/bin/sh', '-c', script);
  const r = spawnSync('nsenter', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (r.error) throw new HelperError(`nsenter: ${r.error.message}`);
  if (r.status !== 0) throw new HelperError(`nsenter --${type}: ${r.stderr.trim() || `exit ${r.status}`}`);
  const parts = r.stdout.split('--nsdump--\n');
  parts.pop();
  return parts;
}

/**
 * Read files from inside namespaces joined by util-linux nsenter (single-threaded, so it can join
 * a user namespace, which no thread of ours can). nsenter joins in two passes, so an unprivileged
 * owner of a user namespace gets into it first and then, with the capabilities it has there, into
 * the namespaces it owns. null for a file that does not exist there.
 */
export function readFilesInside(joins: HelperJoin[], files: string[]): (string | null)[] {
  return readFilesInsideBytes(joins, files).map((b) => (b === null ? null : b.toString('utf8')));
}
type HelperJoin = { type: 'user' | 'uts' | 'ipc' | 'net' | 'cgroup'; path: string };

/** readFilesInside, each file as its bytes (a hostname need not be UTF-8). */
export function readFilesInsideBytes(joins: HelperJoin[], files: string[]): (Buffer | null)[] {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = files.map((f) => `if [ -e ${quote(f)} ]; then cat ${quote(f)} || exit 1; else echo ${MISSING}; fi; echo ${SEP}`).join('; ');
  const args = joins.map((j) => `--${j.type}=${j.path}`);
  if (joins.some((j) => j.type === 'user')) args.push('--preserve-credentials');
  args.push('--', '/bin/sh', '-c', script);
  const r = spawnSync('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (r.error) throw new HelperError(`nsenter: ${r.error.message}`);
  if (r.status !== 0) throw new HelperError(`nsenter: ${r.stderr.toString('utf8').trim() || `exit ${r.status}`}`);
  // latin1: one character per byte, so splitting on the ASCII separators keeps every byte.
  const parts = r.stdout.toString('latin1').split(`${SEP}\n`);
  parts.pop();
  return parts.map((p) => (p === `${MISSING}\n` ? null : Buffer.from(p, 'latin1')));
}
const SEP = '--nsdump--';
const MISSING = '--nsdump-missing--';
