// Why: `nsdump encode <json> <dir>`: what `nsdump show --json` printed, back into an image
// directory (CRIU's `crit encode`), checked like any image and written atomically.
import { readFileSync } from 'node:fs';
import { ImageError } from '../image/read.js';
import { imageFromJson } from '../image/json.js';
import { writeImage } from '../image/write.js';

export async function encodeCommand(opts: { json: string; dir: string }): Promise<number> {
  // The parser hands "-" over as /dev/stdin.
  const stdin = opts.json === '-' || opts.json === '/dev/stdin';
  const source = stdin ? 'stdin' : opts.json;
  let text: string;
  try {
    text = readFileSync(stdin ? 0 : opts.json, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ImageError(`${source}: ${why}`, { code });
  }
  writeImage(opts.dir, imageFromJson(text, source));
  return 0;
}
