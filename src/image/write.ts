// Why: an image directory appears whole or not at all. Files are written and fsynced into a
// temporary sibling directory, which is then renamed into place without replacing anything. The
// writer holds the temporary directory's lock for as long as it lives (kernel/locked-dir.ts); one
// nobody holds belongs to a dump that was killed, and the next dump into the same parent removes it.
import { closeSync, fsyncSync, lstatSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { close, renameNoReplace } from '../kernel/ffi.js';
import { makeLockedDir, sweepAbandoned } from '../kernel/locked-dir.js';
import { isErrno, fromNodeError } from '../kernel/errors.js';
import type { Image } from '../model/image.js';
import { FILES, encodeImage, type FileKind } from './codec.js';

export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/** Temporary directories being written, removed by the CLI if a signal ends us mid-write. */
export const pendingDirs = new Set<string>();

function writeDurably(path: string, data: Buffer): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Temporary directories are `.NAME.nsdump-XXXXXX` (mkdtemp's six characters). */
const TEMP_NAME = /^\..+\.nsdump-[A-Za-z0-9]{6}$/;

/**
 * Remove the temporary directories of killed dumps in `parent`: those of our own uid that nobody
 * holds a lock on. Skipped (it is only tidying) when another dump is making its directory now.
 */
export function sweepStale(parent: string): string[] {
  return sweepAbandoned(parent, (name, path) => {
    if (!TEMP_NAME.test(name)) return false;
    try {
      const st = lstatSync(path);
      return st.isDirectory() && st.uid === process.geteuid?.();
    } catch {
      return false;
    }
  });
}

const WHY: Record<string, string> = {
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EROFS: 'read-only file system',
};
const why = (err: unknown) => WHY[(err as NodeJS.ErrnoException).code ?? ''] ?? (err as Error).message;

/**
 * Whether `dir` can become a new image: it does not exist, and its parent is a directory. Every
 * way the path can be wrong is an OutputError (exit 6), said before anything is dumped.
 */
export function checkOutput(dir: string): void {
  const target = resolve(dir);
  const parent = dirname(target);
  let there: boolean;
  try {
    there = exists(target);
  } catch (err) {
    throw new OutputError(`${dir}: ${why(err)}`);
  }
  if (there) throw new OutputError(`${dir}: already exists (nsdump never overwrites an image)`);
  let st;
  try {
    st = statSync(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new OutputError(`${dir}: parent directory ${parent} does not exist`);
    throw new OutputError(`${dir}: ${why(err)}`);
  }
  if (!st.isDirectory()) throw new OutputError(`${dir}: ${parent} is not a directory`);
}

/**
 * Write `img` as the directory `dir`. `beforeCommit` runs just before the rename that makes the
 * image appear; throwing there (a signal arrived) removes everything written.
 */
export function writeImage(dir: string, img: Image, beforeCommit?: () => void): string {
  const target = resolve(dir);
  const parent = dirname(target);
  checkOutput(dir);
  const files = encodeImage(img);
  try {
    sweepStale(parent);
  } catch {
    // Only tidying: a parent we cannot list is reported by the write itself.
  }
  let tmp: string;
  let lockFd: number;
  try {
    ({ path: tmp, lockFd } = makeLockedDir(parent, `.${basename(target)}.nsdump-`));
  } catch (err) {
    throw new OutputError(`${dir}: cannot create a directory beside it: ${(err as Error).message}`);
  }
  pendingDirs.add(tmp);
  let stopped = false;
  try {
    for (const kind of Object.keys(FILES) as FileKind[]) writeDurably(join(tmp, FILES[kind].name), files[kind]);
    const dfd = openSync(tmp, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    stopped = true;
    beforeCommit?.();
    stopped = false;
    try {
      renameNoReplace(tmp, target);
    } catch (err) {
      if (isErrno(err, 'EEXIST', 'ENOTEMPTY')) throw new OutputError(`${dir}: already exists (nsdump never overwrites an image)`);
      throw err;
    }
    pendingDirs.delete(tmp);
    return target;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    pendingDirs.delete(tmp);
    // The caller's own reason to stop goes back to it as it was.
    if (err instanceof OutputError || stopped) throw err;
    const e = fromNodeError(err, dir);
    throw new OutputError(`${dir}: ${(e as Error).message}`);
  } finally {
    // Held until the directory is renamed or removed: while it is, no sweep may take it.
    close(lockFd);
  }
}
