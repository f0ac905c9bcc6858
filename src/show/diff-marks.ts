// Why: `diff --format svg|dot` draws the second image with what changed coloured; the marks come
// from the differences the diff reports, so the picture and the text never disagree.
import type { Difference } from '../diff/report.js';
import type { Image } from '../model/image.js';
import { wrap, type DiffMarks } from './picture.js';
import { holderBits, referenceIpc, stateBits } from './tree.js';

export function diffMarks(first: Image, differences: Difference[]): DiffMarks {
  const marks: DiffMarks = { ns: new Map(), pids: new Set(), missing: [], notes: differences.map((d) => d.message) };
  const firstById = new Map(first.namespaces.map((n) => [n.id, n]));
  const reference = referenceIpc(first);
  for (const d of differences) {
    if ((d.kind === 'state' || d.kind === 'bind-mounts') && d.second?.id !== undefined) marks.ns.set(d.second.id, 'changed');
    else if (d.kind === 'namespace-extra' && d.second?.id !== undefined) marks.ns.set(d.second.id, 'extra');
    else if ((d.kind === 'set-changed' || d.kind === 'set-extra') && d.second?.pid !== undefined) marks.pids.add(d.second.pid);
    else if (d.kind === 'namespace-missing' && d.first?.id !== undefined) {
      const n = firstById.get(d.first.id);
      if (n) marks.missing.push({ ns: n, lines: [`${n.type}#${n.id} [${n.inode}] (first image)`, ...wrap([...stateBits(n, first, reference), ...holderBits(n)].join(', '))] });
    }
  }
  return marks;
}
