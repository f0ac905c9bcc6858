// Why: to the kernel a hostname, a domainname and a comm are bytes, not text: sethostname(2) and
// prctl(PR_SET_NAME) take any bytes but NUL, and a comm cut at 15 bytes can end in half a UTF-8
// character. An image keeps them exactly: a string when the bytes are UTF-8, {"hex": "…"} when
// they are not, so that a round trip gives back the very bytes, and JSON carries them losslessly.
import { isUtf8 } from 'node:buffer';
import * as z from 'zod';

/** Lone surrogates: a JavaScript string that no bytes are the UTF-8 of. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Bytes that are not UTF-8, in lowercase hex. UTF-8 bytes have one spelling only: the string. */
export const HexBytes = z
  .strictObject({ hex: z.string().regex(/^(?:[0-9a-f]{2})+$/, 'not bytes in lowercase hex') })
  .refine((v) => !isUtf8(Buffer.from(v.hex, 'hex')), 'these bytes are UTF-8: written as a string, not as hex')
  .describe('bytes that are not UTF-8, in lowercase hex (UTF-8 bytes are written as a string)');
export type HexBytes = z.infer<typeof HexBytes>;

/** A name the kernel keeps as bytes: the string they spell when they are UTF-8, else their hex. */
export const KernelText = z.union([
  z.string().refine((s) => !LONE_SURROGATE.test(s), 'a lone surrogate is not text that bytes spell; bytes that are not UTF-8 are written {"hex": "…"}'),
  HexBytes,
]);
export type KernelText = z.infer<typeof KernelText>;

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The model's form of bytes the kernel gave: a string when they are UTF-8 (a BOM kept), else hex. */
export function kernelText(bytes: Uint8Array): KernelText {
  if (isUtf8(bytes)) return strict.decode(bytes);
  return { hex: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') };
}

/** The exact bytes to give back to the kernel. */
export function kernelBytes(v: KernelText): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.hex, 'hex');
}

/** The bytes when they are not UTF-8 (what an image stores beside the string), else undefined. */
export function nonUtf8Bytes(v: KernelText): Buffer | undefined {
  return typeof v === 'string' ? undefined : Buffer.from(v.hex, 'hex');
}

/** A string for a reader that knows no bytes: each byte that is not UTF-8 becomes U+FFFD. */
export function lossyText(v: KernelText): string {
  return typeof v === 'string' ? v : Buffer.from(v.hex, 'hex').toString('utf8');
}

/**
 * The UTF-8 runs and the stray bytes of `v`, in order: a text output shows a stray byte as `\xHH`.
 */
export function textPieces(v: KernelText): ({ text: string } | { byte: number })[] {
  return typeof v === 'string' ? [{ text: v }] : pieces(v);
}
function pieces(v: HexBytes): ({ text: string } | { byte: number })[] {
  const b = Buffer.from(v.hex, 'hex');
  const out: ({ text: string } | { byte: number })[] = [];
  let i = 0;
  let run = 0;
  const flush = (end: number) => {
    if (end > run) out.push({ text: b.toString('utf8', run, end) });
  };
  while (i < b.length) {
    const len = utf8SequenceLength(b, i);
    if (len > 0) {
      i += len;
      continue;
    }
    flush(i);
    out.push({ byte: b[i]! });
    run = ++i;
  }
  flush(i);
  return out;
}

/** Length of the well-formed UTF-8 sequence at b[i] (RFC 3629: no overlongs, no surrogates), 0 if none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const hexByte = (n: number) => `\\x${n.toString(16).padStart(2, '0')}`;

/** `v` for a line of text: its UTF-8 as is, each stray byte as `\xHH` (then escaped like any image text). */
export function shownText(v: KernelText): string {
  if (typeof v === 'string') return v;
  return pieces(v)
    .map((p) => ('text' in p ? p.text : hexByte(p.byte)))
    .join('');
}

/** `v` in double quotes as JSON.stringify quotes a string, each stray byte as `\xHH` (JSON has no `\x`). */
export function quotedText(v: KernelText): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return `"${pieces(v)
    .map((p) => ('text' in p ? JSON.stringify(p.text).slice(1, -1) : hexByte(p.byte)))
    .join('')}"`;
}
