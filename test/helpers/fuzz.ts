// Why: the fuzzer's engine, shared by the bounded run in the test suite (test/fuzz.test.ts) and the
// long run (scripts/fuzz.mjs). Inputs are real images (fixtures/images, the bad-image corpus's
// base) mutated two ways with fast-check: bytes (bit flips, truncation, insertions, forged length
// prefixes) and the model (valid protobuf with absurd values and broken references). Each case
// goes through the reader's own path and, when accepted, through everything that consumes an
// image; the verdict is checked by an independent checker written here, not by src/image/validate.ts.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffImages } from '../../src/diff/compare.js';
import { FILES, encodeImage, type FileKind } from '../../src/image/codec.js';
import { ImageError, parseImageFiles } from '../../src/image/read.js';
import type { Image } from '../../src/model/image.js';
import { Image as ImageSchema } from '../../src/model/image.js';
import { NS_LINKS, NS_TYPES } from '../../src/model/species.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderSh } from '../../src/plan/render-sh.js';
import { renderText } from '../../src/plan/render-text.js';
import { PlanError, validateForPlan } from '../../src/plan/validate.js';
import { renderDot } from '../../src/show/dot.js';
import { buildPicture } from '../../src/show/picture.js';
import { renderTree } from '../../src/show/tree.js';
import { ROOT } from './paths.js';

export type Files = Record<FileKind, Buffer>;
const KINDS = Object.keys(FILES) as FileKind[];

/** The seeds: real dumps, and the corpus's synthetic base (user, pid, uts, ipc, time namespaces to create). */
export function seeds(): Files[] {
  const read = (dir: string) => Object.fromEntries(KINDS.map((k) => [k, readFileSync(join(dir, FILES[k].name))])) as Files;
  const base = ImageSchema.parse(JSON.parse(readFileSync(join(ROOT, 'fixtures', 'bad-images', 'base.json'), 'utf8')));
  return [read(join(ROOT, 'fixtures', 'images', 'v1-mixed-children')), read(join(ROOT, 'fixtures', 'images', 'v1-net-veth-pair')), encodeImage(base)];
}

// ---- byte-level mutation -----------------------------------------------------------------------

type ByteOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'length'; at: number; value: number };

export interface ByteCase {
  seed: number;
  ops: { file: FileKind; op: ByteOp }[];
}

const varint = (v: number): Buffer => {
  const out: number[] = [];
  let x = v >>> 0;
  while (x > 0x7f) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
  return Buffer.from(out);
};

/** `at` is taken modulo the file's length, so that one case fits every seed. */
const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  // A length prefix (or any varint) forged: small, at a boundary, or huge.
  fc.record({ op: fc.constant('length' as const), at: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0x7f, 0x80, 0x3fff, 0x4000, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1, 0xffffffff)) }),
);

export const byteCase = (nSeeds: number): fc.Arbitrary<ByteCase> =>
  fc.record({
    seed: fc.integer({ min: 0, max: nSeeds - 1 }),
    ops: fc.array(fc.record({ file: fc.constantFrom(...KINDS), op: byteOp }), { minLength: 1, maxLength: 4 }),
  });

export function applyBytes(seed: Files, c: ByteCase): Files {
  const out = { ...seed };
  for (const { file, op } of c.ops) {
    const b = out[file];
    const i = b.length ? op.at % (b.length + 1) : 0;
    switch (op.op) {
      case 'flip':
        if (i < b.length) {
          const x = Buffer.from(b);
          x[i] = x[i]! ^ (1 << op.bit);
          out[file] = x;
        }
        break;
      case 'set':
        if (i < b.length) {
          const x = Buffer.from(b);
          x[i] = op.byte;
          out[file] = x;
        }
        break;
      case 'truncate':
        out[file] = b.subarray(0, i);
        break;
      case 'insert':
        out[file] = Buffer.concat([b.subarray(0, i), op.bytes, b.subarray(i)]);
        break;
      case 'delete':
        out[file] = Buffer.concat([b.subarray(0, i), b.subarray(i + op.len)]);
        break;
      case 'length':
        // Past the 8-byte header most of the time, where the length prefixes are.
        out[file] = Buffer.concat([b.subarray(0, Math.max(i, Math.min(8, b.length))), varint(op.value), b.subarray(Math.max(i, Math.min(8, b.length)) + 1)]);
        break;
    }
  }
  return out;
}

// ---- model-level mutation (valid protobuf, absurd or inconsistent values) ---------------------

type Edit = (img: Image) => void;
const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
const u32 = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0xffffffff, 0x7fffffff, 4096, 20000));
/** Names as the model spells them: strings, and bytes as hex (UTF-8 ones too: the reader must make them strings). */
const hostile = fc.oneof(
  fc.string({ maxLength: 70, unit: 'binary' }),
  fc.constantFrom('x\u001b[2J\nFAKE', '\u009b31m', '\u202eevil', '\ud800', 'a'.repeat(65), ''),
  fc.uint8Array({ maxLength: 70 }).map((a) => ({ hex: Buffer.from(a).toString('hex') })),
  fc.constantFrom({ hex: 'fffe80' }, { hex: 'ff'.repeat(65) }, { hex: '1b5b324a' }, { hex: 'c0af' }),
);

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.option(u32)).map(([i, v]): Edit => (img) => void (pick(img.namespaces, i) && (pick(img.namespaces, i)!.owner = v === 0 ? null : v))),
  fc.tuple(fc.nat(), fc.option(u32)).map(([i, v]): Edit => (img) => void (pick(img.namespaces, i) && (pick(img.namespaces, i)!.parent = v === 0 ? null : v))),
  fc.tuple(fc.nat(), fc.constantFrom(...NS_TYPES)).map(([i, t]): Edit => (img) => void (pick(img.namespaces, i) && (pick(img.namespaces, i)!.type = t))),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, b]): Edit => (img) => void (pick(img.namespaces, i) && (pick(img.namespaces, i)!.inScope = b))),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, b]): Edit => (img) => void (pick(img.namespaces, i) && (pick(img.namespaces, i)!.ownerBeyondScope = b))),
  fc.tuple(fc.nat(), u32).map(([i, v]): Edit => (img) => {
    const s = pick(img.namespaces, i)?.state as { level?: number } | null | undefined;
    if (s && 'level' in s) s.level = v;
  }),
  fc.tuple(fc.nat(), hostile).map(([i, v]): Edit => (img) => {
    const s = pick(img.namespaces, i)?.state as { hostname?: unknown } | null | undefined;
    if (s && 'hostname' in s) s.hostname = v;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...NS_LINKS), fc.option(u32)).map(([i, l, v]): Edit => (img) => void (pick(img.processes, i) && (pick(img.processes, i)!.namespaces[l] = v === 0 ? null : v))),
  fc.tuple(fc.nat(), u32).map(([i, v]): Edit => (img) => void (pick(img.processes, i) && (pick(img.processes, i)!.ppid = v))),
  fc.tuple(fc.nat(), fc.option(fc.integer({ min: 1, max: 0xffffffff }))).map(([i, v]): Edit => (img) => void (pick(img.processes, i) && (img.inventory.rootPid = v ?? pick(img.processes, i)!.pid + 1))),
  fc.nat().map((i): Edit => (img) => void (pick(img.processes, i) && img.processes.push(structuredClone(pick(img.processes, i)!)))),
  fc.constant((img: Image) => void (img.processes = [])),
  fc.tuple(fc.nat(), hostile).map(([i, v]): Edit => (img) => void (pick(img.processes, i) && (pick(img.processes, i)!.comm = v as Image['processes'][number]['comm']))),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 0xffffffff })).map(([i, tid]): Edit => (img) => {
    const p = pick(img.processes, i);
    img.threads.push({ pid: p ? (tid % 2 ? p.pid : tid) : tid, tid, namespaces: structuredClone(p?.namespaces ?? img.processes[0]?.namespaces ?? Object.fromEntries(NS_LINKS.map((l) => [l, 1]))) as Image['threads'][number]['namespaces'] });
  }),
  fc.tuple(fc.nat(), fc.option(u32), fc.constantFrom(...NS_TYPES)).map(([i, v, t]): Edit => (img) => {
    const s = pick(img.inventory.scope, i);
    if (!s) return;
    s.id = v === 0 ? null : v;
    s.type = t;
  }),
  fc.nat().map((i): Edit => (img) => void (pick(img.inventory.scope, i) && img.inventory.scope.push({ ...pick(img.inventory.scope, i)! }))),
  fc.oneof(fc.constant(1e17), fc.constant(8.64e15 + 1), fc.nat()).map((v): Edit => (img) => void (img.inventory.time = v)),
  // A deep chain of user or pid namespaces, appended (the 20,000-deep stack overflow, smaller).
  fc.tuple(fc.constantFrom('user' as const, 'pid' as const), fc.integer({ min: 1, max: 60 })).map(([t, depth]): Edit => (img) => {
    const top = img.namespaces.find((n) => n.type === t);
    const user = img.namespaces.find((n) => n.type === 'user');
    if (!top || !user) return;
    let parent = top.id;
    for (let k = 0; k < depth; k++) {
      const id = img.namespaces.length + 1;
      img.namespaces.push({ ...structuredClone(top), id, parent, owner: t === 'user' ? parent : user.id, inScope: false, initial: false, holders: [], nsId: null, inode: 1 + k });
      parent = id;
    }
  }),
);

export interface ModelCase {
  seed: number;
  edits: Edit[];
}
export const modelCase = (nSeeds: number): fc.Arbitrary<ModelCase> => fc.record({ seed: fc.integer({ min: 0, max: nSeeds - 1 }), edits: fc.array(edit, { minLength: 1, maxLength: 3 }) });

/** The seed decoded, edited, and encoded again; undefined when the edits make it unencodable. */
export function applyModel(seed: Files, c: ModelCase): Files | undefined {
  const img = structuredClone(parseImageFiles(seed, 'seed'));
  for (const e of c.edits) e(img);
  try {
    return encodeImage(img);
  } catch {
    return undefined;
  }
}

// ---- the independent checker -------------------------------------------------------------------

/** What is wrong with an accepted image, by rules restated here from the kernel's facts; undefined: sound. */
export function independentCheck(img: Image): string | undefined {
  const ns = img.namespaces;
  const depth: number[] = [];
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i]!;
    if (n.id !== i + 1) return `namespace ${i + 1} has id ${n.id}`;
    if (n.owner !== null && !(n.owner < n.id && ns[n.owner - 1]?.type === 'user')) return `${n.type}#${n.id}: bad owner ${n.owner}`;
    if (n.parent !== null && !(n.parent < n.id && (n.type === 'user' || n.type === 'pid') && ns[n.parent - 1]?.type === n.type)) return `${n.type}#${n.id}: bad parent ${n.parent}`;
    if (n.type === 'user' && n.owner !== n.parent) return `user#${n.id}: owner is not parent`;
    depth[n.id] = n.parent === null ? 0 : depth[n.parent]! + 1;
    const limit = n.type === 'user' ? 33 : n.type === 'pid' ? 32 : Infinity;
    if (depth[n.id]! > limit) return `${n.type}#${n.id}: ${depth[n.id]} deep`;
    if (n.type === 'uts' && n.state) {
      // __NEW_UTS_LEN: at most 64 bytes; a name in hex is one that is not UTF-8 (else it is a string).
      for (const v of [n.state.hostname, n.state.domainname]) {
        const bytes = typeof v === 'string' ? new TextEncoder().encode(v) : Uint8Array.from(v.hex.match(/../g) ?? [], (h) => parseInt(h, 16));
        if (bytes.length > 64) return `uts#${n.id}: a name of ${bytes.length} bytes`;
        if (typeof v !== 'string' && new TextDecoder('utf-8', { fatal: false }).decode(bytes).indexOf('\ufffd') < 0) return `uts#${n.id}: UTF-8 bytes spelled in hex`;
      }
    }
    const level = (n.state as { level?: number } | null)?.level;
    if (level !== undefined && level > limit) return `${n.type}#${n.id}: level ${level}`;
    if (!n.inScope && n.owner === null && !n.ownerBeyondScope) return `${n.type}#${n.id}: no owner, unexplained`;
  }
  const scopeTypes = img.inventory.scope.map((s) => s.type);
  if (new Set(scopeTypes).size !== scopeTypes.length) return 'a scope type twice';
  for (const s of img.inventory.scope) {
    if (s.id !== null && (ns[s.id - 1]?.type !== s.type || !ns[s.id - 1]!.inScope)) return `scope ${s.type} → ${s.id}`;
  }
  for (const t of NS_TYPES) {
    const own = ns.filter((n) => n.inScope && n.type === t);
    if (own.length > 1) return `${own.length} in-scope ${t} namespaces`;
    if (own.length === 1 && img.inventory.scope.find((s) => s.type === t)?.id !== own[0]!.id) return `in-scope ${t} not in the scope`;
  }
  const pids = img.processes.map((p) => p.pid);
  if (new Set(pids).size !== pids.length) return 'duplicate pid';
  const tids = img.threads.map((t) => t.tid);
  if (new Set(tids).size !== tids.length) return 'duplicate tid';
  for (const t of img.threads) if (!pids.includes(t.pid)) return `thread ${t.tid} of no process`;
  for (const p of [...img.processes, ...img.threads]) {
    for (const t of NS_TYPES) {
      const r = p.namespaces[t];
      if (r === null || ns[r - 1]?.type !== t) return `pid ${p.pid}: ${t} link ${r}`;
    }
    for (const [l, t] of [['pid_for_children', 'pid'], ['time_for_children', 'time']] as const) {
      const r = p.namespaces[l];
      if (r !== null && ns[r - 1]?.type !== t) return `pid ${p.pid}: ${l} link ${r}`;
    }
  }
  if (img.inventory.rootPid !== null && !pids.includes(img.inventory.rootPid)) return 'root pid missing';
  const parentOf = new Map(img.processes.map((p) => [p.pid, p.ppid]));
  for (const p of img.processes) {
    let cur = p.pid;
    for (let steps = 0; parentOf.has(cur); steps++) {
      if (steps > img.processes.length) return `ppid loop through ${p.pid}`;
      cur = parentOf.get(cur)!;
    }
  }
  if (img.inventory.time > 8.64e15) return 'time beyond a date';
  return undefined;
}

// ---- one case ----------------------------------------------------------------------------------

export type Outcome =
  | { kind: 'refused'; message: string }
  | { kind: 'accepted'; planned: boolean }
  | { kind: 'crash'; where: string; error: string }
  | { kind: 'accepted-invalid'; why: string };

/** Everything nsdump does with an image read from `files`; whatever escapes as an exception is a crash. */
export function runCase(files: Files): Outcome {
  let img: Image;
  try {
    img = parseImageFiles(files, 'img');
  } catch (err) {
    if (err instanceof ImageError && err.message.length > 0) return { kind: 'refused', message: err.message };
    return { kind: 'crash', where: 'read', error: (err as Error)?.stack ?? String(err) };
  }
  const why = independentCheck(img);
  if (why) return { kind: 'accepted-invalid', why };
  let where = 'show';
  try {
    renderTree(img);
    renderTree(img, { tree: 'process' });
    renderTree(img, { tree: 'parent' });
    where = 'picture';
    renderDot(buildPicture(img));
    where = 'diff';
    diffImages(img, img, { timeoutMs: 2000 });
    where = 'plan';
    let planned = false;
    try {
      validateForPlan('img', img);
      const plan = buildPlan(img, { kernel: '6.18', pidfd: true });
      renderText(plan, img, 'img');
      where = 'sh';
      try {
        renderSh(plan, img, 'img');
      } catch (err) {
        if (!(err instanceof PlanError)) throw err;
      }
      planned = true;
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
    }
    return { kind: 'accepted', planned };
  } catch (err) {
    return { kind: 'crash', where, error: (err as Error)?.stack ?? String(err) };
  }
}
