// Why: /proc/PID/uid_map reads relative to the READER: from an ancestor user namespace a nested
// map shows ids composed down to the reader's namespace. A restore writes maps from the parent's
// side, so nsdump stores every map relative to the parent and converts with these functions.
import type { IdMapLine } from './image.js';

export function parseIdMap(text: string): IdMapLine[] {
  const out: IdMapLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    out.push({ inside: Number(f[0]), outside: Number(f[1]), count: Number(f[2]) });
  }
  return out;
}

/** The parent extent that holds [first, first+count) on its inside; the kernel requires exactly one. */
function containing(map: IdMapLine[], first: number, count: number, side: 'inside' | 'outside'): IdMapLine | undefined {
  return map.find((p) => p[side] <= first && first + count <= p[side] + p.count);
}

/** Child map relative to its parent → relative to the reader, given the parent's reader-relative map. */
export function composeMap(relative: IdMapLine[], parentToReader: IdMapLine[]): IdMapLine[] {
  return relative.map((l) => {
    const p = containing(parentToReader, l.outside, l.count, 'inside');
    if (!p) throw new Error(`id range ${l.outside}+${l.count} is not mapped in the parent user namespace`);
    return { inside: l.inside, outside: p.outside + (l.outside - p.inside), count: l.count };
  });
}

/** Reader-relative child map → relative to the parent, given the parent's reader-relative map. */
export function decomposeMap(toReader: IdMapLine[], parentToReader: IdMapLine[]): IdMapLine[] {
  return toReader.map((l) => {
    const p = containing(parentToReader, l.outside, l.count, 'outside');
    if (!p) throw new Error(`id range ${l.outside}+${l.count} does not fall in one extent of the parent's map`);
    return { inside: l.inside, outside: p.inside + (l.outside - p.outside), count: l.count };
  });
}

/** The map of the reader's own namespace, seen from itself. */
export const IDENTITY_MAP: IdMapLine[] = [{ inside: 0, outside: 0, count: 0xffffffff }];
