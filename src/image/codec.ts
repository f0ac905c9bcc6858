// Why: the one module that knows the wire format. Every image file is a 4-byte magic, a u32
// little-endian format version, then length-delimited protobuf messages (varint length first, as
// protobuf's own writeDelimited). Models in, bytes out, and back; the only importer of generated code.
import protobuf from 'protobufjs/minimal.js';
import { nsdump } from '../generated/image.js';
import type { Credentials, Holder, Image, Inventory, Namespace, NsRefs, Process, Thread } from '../model/image.js';
import { kernelText, lossyText, nonUtf8Bytes } from '../model/kernel-text.js';
import { FORMAT_VERSION, READABLE_FORMAT_VERSIONS } from '../model/format.js';
import { NS_LINKS, NS_TYPES, type NsType } from '../model/species.js';

// The generated decoders read proto3 strings with protobufjs's strict reader (utf8.readStrict),
// which decodes a string under 64 bytes in JavaScript, eight bytes at a time joined into a rope of
// 8-character pieces. Node's own decoder reads a Buffer's string whole, natively, and turns every
// invalid sequence into U+FFFD: a string without one was valid UTF-8 and is the same string; one
// with one (valid or not) is read again by the strict reader, which decides, with its own error.
const strictString = protobuf.Reader.prototype.stringVerify;
protobuf.BufferReader.prototype.stringVerify = function stringVerify(this: protobuf.BufferReader): string {
  const start = this.pos;
  const s = this.string();
  if (!s.includes('\uFFFD')) return s;
  this.pos = start;
  return strictString.call(this);
};

/** What the generated static code offers for one message type (it is untyped on purpose). */
interface MessageCodec {
  encode(obj: Record<string, unknown>): protobuf.Writer;
  decode(bytes: Uint8Array): unknown;
}
const v1 = (nsdump as { image: { v1: Record<string, MessageCodec> } }).image.v1;
const T = (name: string): MessageCodec => v1[name]!;
/** The generated enums (name by number, and back): the only two enum fields of the format. */
const enumsOf = v1 as unknown as { NsType: Record<number, string>; Holder: { Kind: Record<number, string> } };
const types = {
  inventory: T('Inventory'),
  namespace: T('Namespace'),
  process: T('Process'),
  thread: T('Thread'),
};

export const FILES = {
  inventory: { name: 'inventory.img', magic: 'NSDI' },
  namespaces: { name: 'namespaces.img', magic: 'NSDN' },
  processes: { name: 'processes.img', magic: 'NSDP' },
  threads: { name: 'threads.img', magic: 'NSDT' },
} as const;
export type FileKind = keyof typeof FILES;

/** Limits that keep a hostile image from exhausting memory. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
export const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
const HEADER_BYTES = 8;

export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError';
  constructor(readonly file: string, why: string) {
    super(`${file}: ${why}`);
  }
}

function frame(kind: FileKind, version: number, entries: Uint8Array[]): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(FILES[kind].magic, 0, 'latin1');
  header.writeUInt32LE(version, 4);
  const w = protobuf.Writer.create();
  for (const e of entries) w.bytes(e);
  return Buffer.concat([header, w.finish()]);
}

/** Split a file into its entries, checking magic, version and every length against the limits. */
export function unframe(kind: FileKind, data: Buffer, readable: readonly number[] = READABLE_FORMAT_VERSIONS): { version: number; entries: Uint8Array[] } {
  const file = FILES[kind].name;
  if (data.length === 0) throw new ImageFormatError(file, 'empty file');
  if (data.length > MAX_FILE_BYTES) throw new ImageFormatError(file, `larger than ${MAX_FILE_BYTES} bytes`);
  if (data.length < HEADER_BYTES) throw new ImageFormatError(file, 'truncated header');
  const magic = data.toString('latin1', 0, 4);
  if (magic !== FILES[kind].magic) throw new ImageFormatError(file, `wrong magic ${JSON.stringify(magic)} (expected ${FILES[kind].magic}): not an nsdump ${kind} image`);
  const version = data.readUInt32LE(4);
  if (!readable.includes(version)) throw new ImageFormatError(file, `format version ${version} is not supported (this nsdump reads version${readable.length === 1 ? '' : 's'} ${readable.join(', ')})`);
  const r = protobuf.Reader.create(data.subarray(HEADER_BYTES));
  const out: Uint8Array[] = [];
  while (r.pos < r.len) {
    const at = r.pos;
    let len: number;
    try {
      len = r.uint32();
    } catch {
      throw new ImageFormatError(file, `entry ${out.length + 1}: truncated length at byte ${HEADER_BYTES + at}`);
    }
    if (len > MAX_ENTRY_BYTES) throw new ImageFormatError(file, `entry ${out.length + 1}: length ${len} exceeds ${MAX_ENTRY_BYTES}`);
    if (r.pos + len > r.len) throw new ImageFormatError(file, `entry ${out.length + 1}: truncated (needs ${len} bytes, ${r.len - r.pos} left)`);
    out.push(r.buf.subarray(r.pos, r.pos + len));
    r.pos += len;
  }
  return { version, entries: out };
}

/**
 * Decode one entry and turn it into its model shape (`convert`). Whatever the bytes, the result is
 * a value for the schema to judge or an ImageFormatError naming the entry: a message the
 * converter did not expect (a sub-message left out, an enum out of range) is a damaged entry.
 *
 * The converters read the decoded message itself, not a `toObject` copy of it: a field the entry
 * leaves out reads as its default from the message's prototype (proto3: 0, "", false, [] — a
 * frozen shared array, never written to —, null for a message), 64-bit fields are Long values
 * (longText), enums numbers (enumName). What a converter passes on whole or spreads it takes as
 * `plain()` first (own properties alone would lose the defaults), so the result is plain data.
 * toObject's second copy of every entry, with its per-field option checks, was about a fifth of
 * decoding a 10,000-namespace image.
 */
function decode<T>(kind: FileKind, type: MessageCodec, bytes: Uint8Array, index: number, convert: (m: Msg) => T): T {
  let m: Msg;
  try {
    m = type.decode(bytes) as Msg;
  } catch (err) {
    throw new ImageFormatError(FILES[kind].name, `entry ${index + 1}: ${(err as Error).message}`);
  }
  try {
    return convert(m);
  } catch (err) {
    throw new ImageFormatError(FILES[kind].name, `entry ${index + 1}: malformed (${(err as Error).message})`);
  }
}

function encode(type: MessageCodec, obj: Record<string, unknown>): Uint8Array {
  // Plain objects go straight to the encoder (fromObject's reflection costs more than the encoding
  // itself). Enums must be numbers here; 64-bit fields are decimal strings, which the writer parses
  // exactly — never a bigint: the writer does not know one and silently writes 0.
  return type.encode(obj).finish();
}

const NS_TYPE_NUMBER = Object.fromEntries(NS_TYPES.map((t, i) => [t, i + 1])) as Record<NsType, number>;
const HOLDER_KIND_NUMBER = { fd: 1, bind: 2 } as const;

// ---- model ⇄ message -------------------------------------------------------------------------

/** A decoded message: fields by name, defaults on its prototype. */
type Msg = Record<string, unknown>;
const Long = protobuf.util.Long as unknown as { isLong(v: unknown): boolean; prototype: { toString(this: unknown): string } } | null;
const isLong = (v: unknown) => Long !== null && Long.isLong(v);
/** A 64-bit field as a decimal string (what toObject's `longs: String` gave). */
function longText(v: unknown): string {
  if (typeof v === 'number') return String(v);
  // Upper half zero, signed or not: the value is the lower half (ids and counters nearly always
  // are), without Long's division loop.
  if ((v as { high: number }).high === 0) return String((v as { low: number }).low >>> 0);
  return Long!.prototype.toString.call(v);
}
/** An enum field by its name; a number the enum lacks stays a number (for the schema to refuse). */
function enumName(names: Record<number, string>, v: unknown): string | number {
  return names[v as number] ?? (v as number);
}

type Copier = (m: Msg) => Msg;
/** Per generated class, shallow and deep: its copier (see plain). */
const copiers = new Map<unknown, [Copier | undefined, Copier | undefined]>();
/** An element of a repeated field, copied as plain() copies a field. */
function plainElement(e: unknown, deep: boolean): unknown {
  if (isLong(e)) return longText(e);
  return deep && e !== null && typeof e === 'object' && !(e instanceof Uint8Array) ? plain(e as Msg, true) : e;
}
/**
 * The copier of one generated class, written for its fields: its fields are the defaults on its
 * prototype (a list: [], a message: null, a 64-bit field: a Long), its oneofs the getters there.
 * A oneof is copied as its getter names it: right for proto3's one-member oneofs (`optional`);
 * Namespace's `state`, the one with several members, is read by stateFromMsg, never copied.
 * Compiled once per class (the names come from our own generated code, quoted all the same): one
 * object literal per entry, where a loop over the field names made every access a keyed lookup,
 * slower than toObject itself on an image of 100,000 processes.
 */
function copierOf(ctor: unknown, deep: boolean): Copier {
  let known = copiers.get(ctor);
  const have = known?.[deep ? 1 : 0];
  if (have) return have;
  if (!known) copiers.set(ctor, (known = [undefined, undefined]));
  const literal: string[] = [];
  const after: string[] = [];
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors((ctor as { prototype: object }).prototype))) {
    const f = JSON.stringify(k);
    // The *_bytes fields (format 2) are the exact bytes of the string field beside them, read by
    // textFromMsg where that field is converted: never part of the plain data.
    if (d.value instanceof Uint8Array) continue;
    if (d.get) after.push(`v = m[${f}]; if (v !== undefined) o[${f}] = v;`);
    else if (typeof d.value === 'function') continue;
    else if (Array.isArray(d.value)) literal.push(`${f}: m[${f}].map(${deep ? 'deepElement' : 'element'})`);
    else if (d.value === null) after.push(`v = m[${f}]; if (v !== null && v !== undefined) o[${f}] = ${deep ? 'plain(v, true)' : 'v'};`);
    else if (isLong(d.value)) literal.push(`${f}: longText(m[${f}])`);
    else literal.push(`${f}: m[${f}]`);
  }
  const body = `const o = { ${literal.join(', ')} }; let v; ${after.join(' ')} return o;`;
  const make = new Function('plain', 'longText', 'element', 'deepElement', `return (m) => { ${body} };`) as (...a: unknown[]) => Copier;
  const copier = make(plain, longText, (e: unknown) => plainElement(e, false), (e: unknown) => plainElement(e, true));
  known[deep ? 1 : 0] = copier;
  return copier;
}
/**
 * A message as a plain object with every field (defaults included), 64-bit fields as decimal
 * strings and the name of each set oneof — toObject's `defaults, arrays, oneofs, longs: String`;
 * enums stay numbers (the two enum fields are converted where they are read). `deep`: nested
 * messages too; otherwise they stay messages, for the converter to replace.
 */
function plain(m: Msg, deep: boolean): Msg {
  return copierOf(m.constructor, deep)(m);
}

const id0 = (v: number | null) => v ?? 0;
const orNull = (v: unknown) => (v === 0 || v === '0' ? null : (v as number));

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
/** Each link with its message field's name, worked out once: every process and thread has ten. */
const LINK_FIELDS = NS_LINKS.map((l) => [l, camel(l)] as const);

function refsToMsg(r: NsRefs) {
  const m: Record<string, number> = {};
  for (const [l, f] of LINK_FIELDS) m[f] = id0(r[l]);
  return m;
}
/** A process entry without its namespaces message has every link absent: validation says so. */
function refsFromMsg(m: Record<string, number> | null | undefined): NsRefs {
  const r: Record<string, number | null> = {};
  for (const [l, f] of LINK_FIELDS) r[l] = m ? orNull(m[f]) : null;
  return r as NsRefs;
}

function sortedSysctls(m: Record<string, string>): { name: string; value: string }[] {
  return Object.entries(m)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
}

function stateToMsg(ns: Namespace): Record<string, unknown> {
  if (!ns.state) return {};
  switch (ns.type) {
    case 'user': {
      const { setgroups, ...rest } = ns.state;
      return { user: { ...rest, setgroupsDeny: setgroups === 'deny' } };
    }
    case 'ipc': {
      const sysctls = sortedSysctls(ns.state.sysctls);
      return { ipc: { sysctls } };
    }
    case 'uts': {
      const { hostname, domainname } = ns.state;
      return { uts: { hostname: lossyText(hostname), domainname: lossyText(domainname), hostnameBytes: nonUtf8Bytes(hostname), domainnameBytes: nonUtf8Bytes(domainname) } };
    }
    case 'net': {
      const n = ns.state;
      return {
        net: {
          interfaces: n.interfaces.map((i) => ({ ...i, linkNetns: id0(i.linkNetns) })),
          routes: n.routes,
          rules: n.rules,
          missingDefaultRules: n.missingDefaultRules,
          sysctls: sortedSysctls(n.sysctls),
        },
      };
    }
    default:
      return { [ns.type]: ns.state };
  }
}

/** A name stored as a string and, when not UTF-8, its bytes beside it (format 2): the bytes win. */
function textFromMsg(text: unknown, bytes: unknown): unknown {
  return bytes instanceof Uint8Array && bytes.length ? kernelText(bytes) : text;
}

/** A namespace's state as plain data, for the schema of its type (user and net reshaped, the rest as they are). */
function stateFromMsg(type: NsType, m: Msg): unknown {
  // Which state the entry holds: decoding a member of the oneof clears the others (protobuf's rule,
  // the last on the wire wins), so at most one is set. Looked at directly: the generated `state`
  // getter lists the message's keys to answer, once per namespace.
  let which: NsType | undefined;
  for (const t of NS_TYPES) if (m[t] !== null && m[t] !== undefined) which = t;
  const msg = m[type] as Msg | null | undefined;
  if (which !== type || !msg) return null;
  switch (type) {
    case 'user': {
      const { setgroupsDeny, ...rest } = plain(msg, true);
      return { ...rest, setgroups: setgroupsDeny ? 'deny' : 'allow' };
    }
    case 'ipc':
      return { sysctls: Object.fromEntries((msg.sysctls as { name: string; value: string }[]).map((x) => [x.name, x.value])) };
    case 'net': {
      // Few and nested: plain all through, so that the spreads below see every field.
      const s = plain(msg, true);
      return {
        interfaces: (s.interfaces as Record<string, unknown>[]).map((i) => ({ ...i, linkNetns: orNull(i.linkNetns) })),
        routes: s.routes,
        rules: s.rules ?? [],
        missingDefaultRules: s.missingDefaultRules ?? [],
        sysctls: Object.fromEntries((s.sysctls as { name: string; value: string }[]).map((x) => [x.name, x.value])),
      };
    }
    case 'uts':
      return { hostname: textFromMsg(msg.hostname, msg.hostnameBytes), domainname: textFromMsg(msg.domainname, msg.domainnameBytes) };
    case 'time': {
      // A missing clock stays missing (undefined), for the schema to name.
      const ts = (t: Msg | null | undefined) => (t ? { seconds: Number(longText(t.seconds)), nanoseconds: t.nanoseconds } : undefined);
      return { monotonic: ts(msg.monotonic as Msg | null), boottime: ts(msg.boottime as Msg | null) };
    }
    default:
      return plain(msg, true);
  }
}

function nsToMsg(ns: Namespace): Record<string, unknown> {
  return {
    id: ns.id,
    type: NS_TYPE_NUMBER[ns.type],
    inode: ns.inode,
    device: ns.device,
    nsId: ns.nsId ?? '0',
    owner: id0(ns.owner),
    parent: id0(ns.parent),
    ownerBeyondScope: ns.ownerBeyondScope,
    parentBeyondScope: ns.parentBeyondScope,
    inScope: ns.inScope,
    initial: ns.initial,
    holders: ns.holders.map((h) => ({ ...h, kind: HOLDER_KIND_NUMBER[h.kind] })),
    stateNote: ns.stateNote,
    ...stateToMsg(ns),
  };
}

function nsFromMsg(m: Msg): unknown {
  const type = String(enumName(enumsOf.NsType, m.type)).toLowerCase() as NsType;
  return {
    id: m.id,
    type,
    inode: m.inode,
    device: m.device,
    nsId: orNull(longText(m.nsId)),
    owner: orNull(m.owner),
    parent: orNull(m.parent),
    ownerBeyondScope: m.ownerBeyondScope,
    parentBeyondScope: m.parentBeyondScope,
    inScope: m.inScope,
    initial: m.initial,
    holders: (m.holders as Record<string, unknown>[]).map((h): Holder => {
      const kind = String(enumName(enumsOf.Holder.Kind, h.kind)).toLowerCase() as Holder['kind'];
      return kind === 'fd' ? { kind, pid: h.pid as number, fd: h.fd as number } : { kind, pid: h.pid as number, path: h.path as string };
    }),
    state: stateFromMsg(type, m),
    stateNote: m.stateNote,
  };
}

// Credentials: an unmapped id travels as {unmapped: true}; capability sets as uint64 (hex in the model).
const credIdToMsg = (v: number | null) => (v === null ? { id: 0, unmapped: true } : { id: v, unmapped: false });
const credIdFromMsg = (m: Record<string, unknown> | null | undefined) => (!m || m.unmapped ? null : (m.id as number));

function credsToMsg(c: Credentials | null): Record<string, unknown> | undefined {
  if (!c) return undefined;
  const cap = (hex: string) => BigInt(`0x${hex}`).toString();
  return {
    ruid: credIdToMsg(c.uid.real), euid: credIdToMsg(c.uid.effective), suid: credIdToMsg(c.uid.saved), fsuid: credIdToMsg(c.uid.fs),
    rgid: credIdToMsg(c.gid.real), egid: credIdToMsg(c.gid.effective), sgid: credIdToMsg(c.gid.saved), fsgid: credIdToMsg(c.gid.fs),
    groups: c.groups.map(credIdToMsg),
    capInheritable: cap(c.capabilities.inheritable), capPermitted: cap(c.capabilities.permitted), capEffective: cap(c.capabilities.effective),
    capBounding: cap(c.capabilities.bounding), capAmbient: cap(c.capabilities.ambient),
    noNewPrivs: c.noNewPrivs,
  };
}

/** A uint64 capability set as 16 hex digits, from the Long's two halves (no decimal string between). */
function capHex(v: unknown): string {
  if (!isLong(v)) return BigInt(longText(v)).toString(16).padStart(16, '0');
  const { high, low } = v as { high: number; low: number };
  return (high >>> 0).toString(16).padStart(8, '0') + (low >>> 0).toString(16).padStart(8, '0');
}

function credsFromMsg(m: Record<string, unknown> | null | undefined): unknown {
  if (!m) return null;
  const id = (k: string) => credIdFromMsg(m[k] as Record<string, unknown>);
  const cap = (k: string) => capHex(m[k]);
  return {
    uid: { real: id('ruid'), effective: id('euid'), saved: id('suid'), fs: id('fsuid') },
    gid: { real: id('rgid'), effective: id('egid'), saved: id('sgid'), fs: id('fsgid') },
    groups: (m.groups as Record<string, unknown>[]).map(credIdFromMsg),
    capabilities: { inheritable: cap('capInheritable'), permitted: cap('capPermitted'), effective: cap('capEffective'), bounding: cap('capBounding'), ambient: cap('capAmbient') },
    noNewPrivs: m.noNewPrivs,
  };
}

function inventoryToMsg(inv: Inventory): Record<string, unknown> {
  return {
    ...inv,
    formatVersion: FORMAT_VERSION,
    rootPid: inv.rootPid ?? 0,
    timeMs: String(inv.time),
    scope: inv.scope.map((s) => ({ ...s, nsId: s.nsId ?? '0', id: id0(s.id) })),
  };
}

function inventoryFromMsg(m: Msg): unknown {
  const { timeMs, scope, rootPid, ...rest } = plain(m, true);
  return {
    ...rest,
    rootPid: orNull(rootPid),
    time: Number(timeMs),
    scope: (scope as Record<string, unknown>[]).map((s) => ({ ...s, nsId: orNull(s.nsId), id: orNull(s.id) })),
  };
}

/** Encode an image into its files' bytes. */
export function encodeImage(img: Image): Record<FileKind, Buffer> {
  // Whatever version an image was read as, it is written as this nsdump's: what it records is
  // what this version means (a format 1 image's missing fields read as their defaults).
  const v = FORMAT_VERSION;
  return {
    inventory: frame('inventory', v, [encode(types.inventory, inventoryToMsg(img.inventory))]),
    namespaces: frame('namespaces', v, img.namespaces.map((n) => encode(types.namespace, nsToMsg(n)))),
    processes: frame('processes', v, img.processes.map((p: Process) => encode(types.process, { ...p, comm: lossyText(p.comm), commBytes: nonUtf8Bytes(p.comm), namespaces: refsToMsg(p.namespaces), credentials: credsToMsg(p.credentials) }))),
    threads: frame('threads', v, img.threads.map((t: Thread) => encode(types.thread, { ...t, namespaces: refsToMsg(t.namespaces) }))),
  };
}

/**
 * Decode files into an unvalidated image-shaped object; the caller validates it with the zod
 * schema (image/read.ts). Errors name the file and entry.
 */
export function decodeImage(files: Record<FileKind, Buffer>, readable: readonly number[] = READABLE_FORMAT_VERSIONS): unknown {
  // Every file of an image is written by the same nsdump: one version for all four.
  const first = unframe('inventory', files.inventory, readable).version;
  const entries = (kind: FileKind) => {
    const { version, entries: e } = unframe(kind, files[kind], readable);
    if (version !== first) throw new ImageFormatError(FILES[kind].name, `format version ${version}, but inventory.img is version ${first}: files of different images`);
    return e;
  };
  const inv = entries('inventory');
  if (inv.length !== 1) throw new ImageFormatError(FILES.inventory.name, `holds ${inv.length} entries, expected exactly 1`);
  // The copy is ours: its links and credentials are set on it. (Spreading it into a new literal
  // gave every process a map of its own in V8: 300 bytes a process instead of 75.)
  const procMsg = (m: Msg) => {
    const p = plain(m, false);
    p.namespaces = refsFromMsg(m.namespaces as Record<string, number> | null);
    return p;
  };
  return {
    inventory: decode('inventory', types.inventory, inv[0]!, 0, inventoryFromMsg),
    namespaces: entries('namespaces').map((b, i) => decode('namespaces', types.namespace, b, i, nsFromMsg)),
    processes: entries('processes').map((b, i) =>
      decode('processes', types.process, b, i, (m) => {
        const p = procMsg(m);
        // The name as the kernel's bytes where it is not UTF-8.
        p.comm = textFromMsg(m.comm, m.commBytes);
        p.credentials = credsFromMsg(m.credentials as Record<string, unknown> | null);
        return p;
      }),
    ),
    threads: entries('threads').map((b, i) => decode('threads', types.thread, b, i, procMsg)),
  };
}
