// Why: everything read from disk is hostile until proven otherwise. Files are opened without
// following links, must be regular and within the size limit before a byte is read, are unframed
// and decoded (codec.ts), then validated with the zod schemas and the image rules (validate.ts);
// every failure is one ImageError naming the file and entry.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ZodIssue } from 'zod';
import { Image } from '../model/image.js';
import { FILES, ImageFormatError, MAX_FILE_BYTES, decodeImage, type FileKind } from './codec.js';
import { ImageError } from './errors.js';
import { validateImage, type Locate } from './validate.js';

export { ImageError } from './errors.js';

/** Node's fs error as one ImageError: its errno name kept, its message as a person would say it. */
function fsError(path: string, err: unknown): ImageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = { ENOENT: 'missing', EACCES: 'permission denied', EPERM: 'operation not permitted', ENOTDIR: 'not a directory', EISDIR: 'is a directory', ELOOP: 'too many symbolic links', ENXIO: 'not a regular file' };
  return new ImageError(`${path}: ${(code && why[code]) ?? (err as Error).message}`, { code, cause: err });
}

const FILE_OF: Record<string, FileKind> = { inventory: 'inventory', namespaces: 'namespaces', processes: 'processes', threads: 'threads' };

function describeIssue(dir: string, issue: ZodIssue): string {
  const [top, index, ...rest] = issue.path;
  const kind = FILE_OF[String(top)] ?? 'inventory';
  const file = join(dir, FILES[kind].name);
  if (kind === 'inventory') return `${file}: ${[index, ...rest].filter((x) => x !== undefined).join('.') || 'entry'}: ${issue.message}`;
  return `${file}: entry ${Number(index) + 1}: ${rest.join('.') || 'entry'}: ${issue.message}`;
}

/**
 * One file of an image: opened without following a symbolic link (O_NOFOLLOW) and without waiting
 * on a FIFO or device (O_NONBLOCK; libuv adds O_CLOEXEC), then checked on the open fd — a regular file within the size
 * limit — before a byte is read, so nothing can be swapped in between the check and the read.
 */
function readFile(dir: string, kind: FileKind): Buffer {
  const path = join(dir, FILES[kind].name);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    // O_NOFOLLOW's answer for a final component that is a link: said as what it is.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new ImageError(`${path}: is a symbolic link (nsdump does not follow links inside an image)`, { cause: err });
    throw fsError(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ImageError(`${path}: not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new ImageError(`${path}: ${st.size} bytes is larger than the ${MAX_FILE_BYTES}-byte limit`);
    // Read at most one byte past what fstat said: a file that grows meanwhile is caught, not followed.
    const buf = Buffer.alloc(st.size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    if (got > st.size) throw new ImageError(`${path}: changed while it was read`);
    return buf.subarray(0, got);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw fsError(path, err);
  } finally {
    closeSync(fd);
  }
}

/** Image size from which zod's compiled object parsers pay for their compiling (see below). */
export const JIT_FROM_BYTES = 2 * 1024 * 1024;

const inDir = (dir: string): Locate => (kind) => join(dir, FILES[kind].name);

export function readImage(dir: string): Image {
  try {
    if (!statSync(dir).isDirectory()) throw new ImageError(`${dir}: not a directory`);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(`${dir}: no such image directory`, { code: 'ENOENT' });
    throw fsError(dir, err);
  }
  const files = Object.fromEntries((Object.keys(FILES) as FileKind[]).map((k) => [k, readFile(dir, k)])) as Record<FileKind, Buffer>;
  return parseImageFiles(files, dir);
}

/**
 * The files' bytes as a validated Image, or one ImageError: decoding, the zod schemas, then the
 * image rules. `dir` names the image in messages. (readImage's path after reading; the fuzzer's.)
 */
export function parseImageFiles(files: Record<FileKind, Buffer>, dir: string): Image {
  let raw: unknown;
  try {
    raw = decodeImage(files);
  } catch (err) {
    if (err instanceof ImageFormatError) throw new ImageError(`${join(dir, err.file)}: ${err.message.slice(err.file.length + 2)}`);
    throw err;
  }
  // zod compiles a parser for each object schema on first use (new Function): ~25 ms of code
  // generation and cold code that pays back only over tens of thousands of objects. Measured on
  // this repository's images: below ~2 MiB (a 5,000-namespace image) its interpreted path is
  // faster, above ~4 MiB the compiled one.
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);
  const parsed = Image.safeParse(raw, { jitless: bytes < JIT_FROM_BYTES });
  if (!parsed.success) throw new ImageError(describeIssue(dir, parsed.error.issues[0]!));
  validateImage(parsed.data, inDir(dir));
  return parsed.data;
}
