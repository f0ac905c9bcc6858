// Why: `nsdump diff`: are two images the same namespaces, modulo kernel ids and pids? Three
// answers (equivalent, different, undecided when the search hit its time bound), three exit codes.
import { diffImages, undecidedReason } from '../diff/compare.js';
import { readImage } from '../image/read.js';
import { EXIT, UsageError } from './exit-codes.js';
import { printable } from '../model/text.js';

/** `--timeout SECONDS` → milliseconds; a positive number of seconds, else a usage error. */
export function parseTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value).trim();
  const seconds = Number(s);
  if (s === '' || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout ${JSON.stringify(String(value))}: not a positive number of seconds`);
  return seconds * 1000;
}

export async function diffCommand(opts: { a: string; b: string; json: boolean; format?: 'text' | 'json' | 'dot' | 'svg'; timeoutMs?: number }): Promise<number> {
  const a = readImage(opts.a);
  const b = readImage(opts.b);
  const r = diffImages(a, b, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
  const equivalent = r.verdict === 'undecided' ? null : r.verdict === 'equivalent';
  if (opts.format === 'dot' || opts.format === 'svg') {
    // The second image drawn, what differs from the first coloured; the verdict is the exit code.
    const { buildPicture } = await import('../show/picture.js');
    const { diffMarks } = await import('../show/diff-marks.js');
    const verdict = r.verdict === 'undecided' ? `undecided: ${undecidedReason(r)}` : r.verdict;
    const picture = buildPicture(b, { marks: diffMarks(a, r.differences), title: `nsdump diff ${opts.a} → ${opts.b}: ${verdict} (the second image drawn)` });
    if (opts.format === 'dot') process.stdout.write((await import('../show/dot.js')).renderDot(picture));
    else process.stdout.write(await (await import('../show/svg.js')).renderSvg(picture));
  } else if (opts.json || opts.format === 'json') process.stdout.write(`${JSON.stringify({ equivalent, undecided: r.verdict === 'undecided', differences: r.differences }, null, 2)}\n`);
  else if (r.verdict === 'equivalent') process.stdout.write(`equivalent: ${r.namespaces} namespaces besides the dumpers' own, the same ${r.sets} namespace sets in use\n`);
  else process.stdout.write(r.differences.map((d) => `${printable(d.message)}\n`).join(''));
  if (r.verdict === 'undecided') process.stderr.write(`nsdump diff: undecided: ${printable(undecidedReason(r))}\n`);
  return r.verdict === 'equivalent' ? EXIT.OK : r.verdict === 'different' ? EXIT.DIFFERENT : EXIT.DIFF_UNDECIDED;
}
