// Why: `nsdump show`: read and validate an image, print it as a tree or as JSON.
import { readImage } from '../image/read.js';
import { renderTree } from '../show/tree.js';

export async function showCommand(opts: { dir: string; json: boolean }): Promise<number> {
  const img = readImage(opts.dir);
  process.stdout.write(opts.json ? `${JSON.stringify(img, null, 2)}\n` : renderTree(img));
  return 0;
}
