// Why: everything read from disk is hostile until proven otherwise. Files are size-checked,
// unframed and decoded (codec.ts), then validated with the zod schemas, and references checked;
// every failure is one ImageError naming the file and entry.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ZodIssue } from 'zod';
import { Image, type StateOf } from '../model/image.js';
import { FILES, ImageFormatError, MAX_FILE_BYTES, decodeImage, type FileKind } from './codec.js';

export class ImageError extends Error {
  override readonly name = 'ImageError';
  /** The errno name when the system refused to read it (EACCES, EPERM: exit code 5, not 3). */
  readonly code: string | undefined;
  constructor(message: string, opts: { code?: string | undefined; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code;
  }
}

/** Node's fs error as one ImageError: its errno name kept, its message as a person would say it. */
function fsError(path: string, err: unknown): ImageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = { ENOENT: 'missing', EACCES: 'permission denied', EPERM: 'operation not permitted', ENOTDIR: 'not a directory', EISDIR: 'is a directory', ELOOP: 'too many symbolic links' };
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

function readFile(dir: string, kind: FileKind): Buffer {
  const path = join(dir, FILES[kind].name);
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ImageError(`${path}: not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new ImageError(`${path}: ${st.size} bytes is larger than the ${MAX_FILE_BYTES}-byte limit`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw fsError(path, err);
  }
}

/** Where an entry of a kind lives, for messages: a file of an image directory, or a JSON path. */
export type Locate = (kind: FileKind) => string;
const inDir = (dir: string): Locate => (kind) => join(dir, FILES[kind].name);

/**
 * Ids are dense and in file order; every reference names an earlier namespace of the right type.
 * `dir` names the image in messages (`locate` says where each kind of entry lies, if not files in it).
 */
export function checkReferences(dir: string, img: Image, locate: Locate = inDir(dir)): void {
  const file = locate('namespaces');
  const byId = new Map(img.namespaces.map((n) => [n.id, n]));
  img.namespaces.forEach((n, i) => {
    const at = `${file}: entry ${i + 1} (${n.type}#${n.id})`;
    if (n.id !== i + 1) throw new ImageError(`${at}: id ${n.id} out of sequence (expected ${i + 1})`);
    for (const [field, ref, type] of [['owner', n.owner, 'user'], ['parent', n.parent, n.type]] as const) {
      if (ref === null) continue;
      const target = byId.get(ref);
      if (!target) throw new ImageError(`${at}: ${field} ${ref} does not exist`);
      if (ref >= n.id) throw new ImageError(`${at}: ${field} ${ref} must come before the namespace it relates to`);
      if (target.type !== type) throw new ImageError(`${at}: ${field} ${ref} is a ${target.type} namespace, expected ${type}`);
    }
    if (n.state && n.type === 'user' && !('uidMap' in n.state)) throw new ImageError(`${at}: state does not match type`);
    if (n.state && n.type === 'net') {
      for (const l of (n.state as StateOf<'net'>).interfaces) {
        if (l.linkNetns === null) continue;
        const target = byId.get(l.linkNetns);
        if (!target || target.type !== 'net') throw new ImageError(`${at}: interface ${l.name}: link_netns ${l.linkNetns} ${target ? `is a ${target.type} namespace` : 'does not exist'}`);
      }
    }
  });
  for (const [kind, list] of [['processes', img.processes], ['threads', img.threads]] as const) {
    list.forEach((p, i) => {
      for (const [link, ref] of Object.entries(p.namespaces)) {
        if (ref === null) continue;
        const want = link.replace(/_for_children$/, '');
        const target = byId.get(ref);
        if (!target || target.type !== want) {
          throw new ImageError(`${locate(kind)}: entry ${i + 1} (pid ${p.pid}): ${link} ${ref} ${target ? `is a ${target.type} namespace` : 'does not exist'}`);
        }
      }
    });
  }
}

export function readImage(dir: string): Image {
  try {
    if (!statSync(dir).isDirectory()) throw new ImageError(`${dir}: not a directory`);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(`${dir}: no such image directory`, { code: 'ENOENT' });
    throw fsError(dir, err);
  }
  const files = Object.fromEntries((Object.keys(FILES) as FileKind[]).map((k) => [k, readFile(dir, k)])) as Record<FileKind, Buffer>;
  let raw: unknown;
  try {
    raw = decodeImage(files);
  } catch (err) {
    if (err instanceof ImageFormatError) throw new ImageError(`${join(dir, err.file)}: ${err.message.slice(err.file.length + 2)}`);
    throw err;
  }
  const parsed = Image.safeParse(raw);
  if (!parsed.success) throw new ImageError(describeIssue(dir, parsed.error.issues[0]!));
  checkReferences(dir, parsed.data);
  return parsed.data;
}
