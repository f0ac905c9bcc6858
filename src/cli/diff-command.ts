// Why: `nsdump diff`: are two images the same namespaces, modulo kernel ids and pids?
import { compareImages } from '../diff/compare.js';
import { readImage } from '../image/read.js';
import { EXIT } from './exit-codes.js';

export async function diffCommand(opts: { a: string; b: string; json: boolean }): Promise<number> {
  const a = readImage(opts.a);
  const b = readImage(opts.b);
  const differences = compareImages(a, b);
  const equivalent = differences.length === 0;
  if (opts.json) process.stdout.write(`${JSON.stringify({ equivalent, differences }, null, 2)}\n`);
  else if (equivalent) process.stdout.write(`equivalent: ${a.namespaces.filter((n) => !n.inScope).length} namespaces besides the dumpers' own, the same namespace sets in use\n`);
  else process.stdout.write(differences.map((d) => `${d.message}\n`).join(''));
  return equivalent ? EXIT.OK : EXIT.DIFFERENT;
}
