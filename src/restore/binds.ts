// Why: namespaces handed on by path. A bind mount of an nsfs file keeps a namespace alive and lets
// runc/crun (linux.namespaces[].path), systemd (NetworkNamespacePath=), CRIU (--join-ns) and
// `ip netns exec` join it. Bind mounts are the one thing a killed process cannot take with it, so
// every one made is recorded and removed at release, and `restore --unbind DIR` removes them after.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bindMount, makePrivateMount, unmount } from '../kernel/ffi.js';
import { RestoreError } from './executor.js';

export interface Bound {
  /** Where the bind mount is. */
  path: string;
  /** Made inside another mount namespace: reached through this path of it (/proc/PID/ns/mnt). */
  mntns: string | null;
  /** Files and directories we made for it, removed after the unmount (deepest first). */
  made: string[];
}

/** An empty file to mount on, refusing a path that exists (it is somebody else's). */
function mountPoint(path: string, made: string[]): void {
  if (existsSync(path)) throw new RestoreError(`${path}: exists already; a bind mount there would hide it`);
  const parent = dirname(path);
  if (!existsSync(parent)) {
    mkdirSync(parent, { recursive: true });
    made.push(parent);
  }
  closeSync(openSync(path, 'wx', 0o444));
  made.push(path);
}

/** Bind namespace `source` (an nsfs path such as /proc/PID/ns/net) at `path` in our own mount namespace. */
export function bindHere(source: string, path: string): Bound {
  const made: string[] = [];
  mountPoint(path, made);
  try {
    bindMount(source, path);
  } catch (err) {
    // Only the file: the set's directory may already hold the other types' binds.
    removeMade(made.filter((p) => p === path));
    throw err;
  }
  return { path, mntns: null, made };
}

/**
 * Bind inside another mount namespace: a helper enters it (nsenter --mount) and runs util-linux
 * mount with argument arrays; the source is reached through the executor's /proc, which a new
 * mount namespace shares. A restored mount namespace starts as a copy of ours, on the same
 * filesystems: a mount point made there would appear on the host (and clash with another restore
 * of the same image). So the directory gets a tmpfs of that namespace's own first; mount tables
 * are not restored anyway, and it goes with the namespace.
 */
export function bindThere(mntns: string, source: string, path: string): Bound {
  const script = [
    'src=$1; dst=$2; d=$(dirname "$dst")',
    'if [ "$d" = / ] || [ ! -d "$d" ]; then echo "$dst: its directory is / or missing in the restored mount namespace" >&2; exit 3; fi',
    'grep -q " $d [^ ]* [^ ]*.* - tmpfs nsdump-holders " /proc/self/mountinfo || mount -t tmpfs -o mode=0755 nsdump-holders "$d" || exit 4',
    'if [ -e "$dst" ]; then echo "$dst: exists already; a bind mount there would hide it" >&2; exit 3; fi',
    ': > "$dst" && mount --bind "$src" "$dst"',
  ].join('; ');
  const r = spawnSync('nsenter', [`--mount=${mntns}`, '--', 'sh', '-c', script, 'nsdump-bind', source, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new RestoreError(`${path} (in a restored mount namespace): ${r.stderr.trim().split('\n').at(-1) || `exit ${r.status}`}`);
  return { path, mntns, made: [] };
}

export function unbind(b: Bound): void {
  // Inside a restored mount namespace everything goes with the namespace.
  if (b.mntns) return;
  try {
    unmount(b.path);
  } catch {
    // already gone
  }
  removeMade(b.made);
}

/** What we made for mount points, deepest first: files, and directories only if empty. */
function removeMade(made: string[]): void {
  for (const p of [...made].reverse()) {
    try {
      if (statSync(p).isDirectory()) rmdirSync(p);
      else rmSync(p, { force: true });
    } catch {
      // gone, or not empty: not ours to force
    }
  }
}

/** Make DIR (if missing) a private mount of itself: nsfs binds fail on shared mounts (systemd's /). */
export function prepareBindDir(dir: string): Bound {
  const abs = resolve(dir);
  const made: string[] = [];
  if (!existsSync(abs)) {
    mkdirSync(abs, { recursive: true, mode: 0o755 });
    made.push(abs);
  }
  makePrivateMount(abs);
  return { path: abs, mntns: null, made };
}

/** `restore --unbind DIR`: every mount at or below DIR, deepest first; then what is left of it. */
export function unbindDir(dir: string): number {
  const abs = resolve(dir);
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === abs || p.startsWith(`${abs}/`)))
    .map((p) => p.replace(/\\040/g, ' '));
  const sorted = [...new Set(points)].sort((a, b) => b.length - a.length);
  for (const p of sorted) {
    try {
      unmount(p);
    } catch {
      // a mount below went with its parent
    }
  }
  // The empty files restore made to mount on, and the set directories left empty (not DIR itself).
  const made = sorted.filter((p) => p !== abs && existsSync(p) && statSync(p).isFile() && statSync(p).size === 0);
  removeMade([...new Set(made.map((p) => dirname(p)).filter((d) => d !== abs)), ...made]);
  return sorted.length;
}

export const bindPathOf = (dir: string, set: number, type: string) => join(resolve(dir), String(set), type);
