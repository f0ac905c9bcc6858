// Why: an image directory appears whole or not at all. Files are written and fsynced into a
// temporary sibling directory, which is then renamed into place without replacing anything.
import { closeSync, fsyncSync, lstatSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { renameNoReplace } from '../kernel/ffi.js';
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

export function writeImage(dir: string, img: Image): string {
  const target = resolve(dir);
  const parent = dirname(target);
  if (exists(target)) throw new OutputError(`${dir}: already exists (nsdump never overwrites an image)`);
  if (!exists(parent)) throw new OutputError(`${dir}: parent directory ${parent} does not exist`);
  const files = encodeImage(img);
  let tmp: string;
  try {
    tmp = mkdtempSync(join(parent, `.${basename(target)}.nsdump-`));
  } catch (err) {
    throw new OutputError(`${dir}: cannot create a directory beside it: ${(err as Error).message}`);
  }
  pendingDirs.add(tmp);
  try {
    for (const kind of Object.keys(FILES) as FileKind[]) writeDurably(join(tmp, FILES[kind].name), files[kind]);
    const dfd = openSync(tmp, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
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
    if (err instanceof OutputError) throw err;
    const e = fromNodeError(err, dir);
    throw new OutputError(`${dir}: ${(e as Error).message}`);
  }
}
