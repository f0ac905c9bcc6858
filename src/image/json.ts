// Why: `nsdump show --json` is a contract for scripts; this is the way back (CRIU's `crit
// encode`): JSON as `show --json` prints it, checked like an image read from disk (zod schema, then
// the image rules), into an Image that encodes to the very bytes it came from.
import * as z from 'zod';
import { Image } from '../model/image.js';
import { ImageError } from './errors.js';
import { validateImage } from './validate.js';

/** The image as `nsdump show --json` prints it. */
export function imageToJson(img: Image): string {
  return `${JSON.stringify(img, null, 2)}\n`;
}

/** `namespaces[3].state.hostname`: where in the JSON a problem lies. */
function jsonPath(path: PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || 'the top level';
}

/**
 * Parse and validate an image given as JSON text or as an already parsed value; `source` names it
 * in messages (a file name, "stdin"). Every failure is one ImageError.
 */
export function imageFromJson(json: string | unknown, source = 'JSON'): Image {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new ImageError(`${source}: not JSON: ${(err as Error).message}`);
    }
  }
  const parsed = Image.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ImageError(`${source}: ${jsonPath(issue.path)}: ${issue.message}`);
  }
  validateImage(parsed.data, (kind) => `${source}: ${kind}`);
  return parsed.data;
}

/** The JSON Schema of what imageFromJson takes (docs/image.schema.json is written from it). */
export function imageJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(Image, { io: 'input', reused: 'inline' }) as Record<string, unknown>;
}
