// Why: when the graphs differ even in shape, a person still wants "this set changed", not "every
// namespace of this group is gone and another group came". Pairing by where namespaces sit
// (colours without state), refined after every pair so that pairs stay consistent with the
// namespace sets, and preferring partners of the same state, reads the difference as few changes.
import { LABELS, type Graph } from './graph.js';
import { Partition } from './partition.js';
import type { Union } from './union.js';

const OWNER = LABELS.indexOf('owner');
const PARENT = LABELS.indexOf('parent');

/**
 * A pairing of the union's two sides, best effort and without backtracking (first-graph vertex →
 * second-graph vertex). `shape` colours decide who may pair; `prefer` (state) who pairs first.
 */
export function pairBestEffort(u: Union, shape: ArrayLike<number>, prefer: ArrayLike<number>): Map<number, number> {
  const p = new Partition(u, shape, null);
  p.refine(false);
  for (;;) {
    const cell = smallestMixedCell(p, u.n);
    if (cell < 0) return p.pairs();
    const [v, w] = choosePair(p, cell, prefer);
    p.individualise(v, w);
    p.refine(false);
  }
}

/** The first of the smallest cells holding vertices of both sides that is not yet one pair; -1 if none. */
function smallestMixedCell(p: Partition, n: number): number {
  let best = -1;
  for (let s = 0; s < n; s += p.size[s]!) {
    const size = p.size[s]!;
    const first = p.side1[s]!;
    if (size > 2 && first > 0 && first < size && (best < 0 || size < p.size[best]!)) best = s;
  }
  return best;
}

/**
 * A first-graph vertex with a same-coloured partner, and that partner, if there is one; else the
 * first of each side. Exact twins pair first, so what differs is left to pair with what differs.
 */
function choosePair(p: Partition, cell: number, prefer: ArrayLike<number>): [number, number] {
  const firsts = p.members(cell, true);
  const seconds = p.members(cell, false);
  const byColour = new Map<number, number>();
  for (const w of seconds) if (!byColour.has(prefer[w]!)) byColour.set(prefer[w]!, w);
  for (const v of firsts) {
    const w = byColour.get(prefer[v]!);
    if (w !== undefined) return [v, w];
  }
  return [firsts[0]!, seconds[0]!];
}

/**
 * Namespaces still unpaired (a set that changed sets all its members apart in refinement), paired
 * by place alone: the same shape, and owner and parent already paired with each other (or the
 * same mark). Round by round, so owners pair before what they own; a partner with the same full
 * colour first. Adds to `pairs` (first-graph vertex → second-graph vertex).
 */
export function pairByPlace(g1: Graph, g2: Graph, pairs: Map<number, number>): void {
  const back = new Map([...pairs].map(([v, w]) => [w, v]));
  // A namespace's place in first-graph terms; null while its owner or parent is unpaired.
  const place = (g: Graph, v: number, partner: (t: number) => number | undefined): string | null => {
    const refs = [g.out[OWNER]![v]!, g.out[PARENT]![v]!].map((t) => (t < 0 ? '-' : partner(t)));
    return refs.includes(undefined) ? null : `${g.shape[v]}|${refs.join('|')}`;
  };
  for (;;) {
    const waiting1 = g1.ns.map((_, v) => v).filter((v) => !pairs.has(v));
    const waiting2 = g2.ns.map((_, w) => w).filter((w) => !back.has(w));
    const keys1 = waiting1.map((v) => place(g1, v, (t) => (pairs.has(t) ? t : undefined)));
    const keys2 = waiting2.map((w) => place(g2, w, (t) => back.get(t)));
    const exact = new Map<string, number[]>();
    const loose = new Map<string, number[]>();
    // Stacked last first, so that among equals the first pairs first.
    for (let i = waiting2.length - 1; i >= 0; i--) {
      const key = keys2[i];
      if (key === null || key === undefined) continue;
      const w = waiting2[i]!;
      push(exact, `${key}\n${g2.full[w]}`, w);
      push(loose, key, w);
    }
    const taken = new Set<number>();
    const take = (list: number[] | undefined) => {
      while (list?.length) {
        const w = list.pop()!;
        if (!taken.has(w)) return w;
      }
      return undefined;
    };
    waiting1.forEach((v, i) => {
      const key = keys1[i];
      if (key === null || key === undefined) return;
      const w = take(exact.get(`${key}\n${g1.full[v]}`)) ?? take(loose.get(key));
      if (w === undefined) return;
      taken.add(w);
      pairs.set(v, w);
      back.set(w, v);
    });
    if (taken.size === 0) return;
  }
}

function push(m: Map<string, number[]>, key: string, v: number): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}
