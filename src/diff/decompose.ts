// Why: once a vertex sits in a cell with only its partner, every isomorphism the search can still
// find maps it there; such fixed vertices cut the rest of the graph into parts that can be matched
// independently. Parts whose vertices all have cells of their own are matched by certificate in
// linear time, and a count that differs ends the branch at once — where 1-WL cannot tell a group
// whose processes sit with their own ipc ns from one whose ipc ns are crossed, whole parts can.
import type { Partition } from './partition.js';
import type { Union } from './union.js';

/** Pairs to fix, matched by certificate, and the parts still to search. */
export interface Parts {
  matched: [number, number][];
  open: number[][];
}

export class Decomposer {
  private readonly root: Int32Array;
  private readonly stamp: Int32Array;
  private tick = 0;

  /** `prefer`: colours that say which of several twins should pair (messages want equal state together). */
  constructor(
    private readonly u: Union,
    private readonly p: Partition,
    private readonly prefer: ArrayLike<number> | null,
  ) {
    this.root = new Int32Array(u.n);
    this.stamp = new Int32Array(u.n);
  }

  /**
   * The parts of a balanced, equitable partition: those whose vertices all have cells of their
   * own matched with their twins, the rest open; null when the twins do not add up (no
   * isomorphism keeps the partition). Which twin goes with which does not matter: two parts
   * with one certificate meet the fixed vertices alike, so swapping them is an automorphism.
   */
  run(): Parts | null {
    const { u, p } = this;
    const twins = new Map<string, { first: number[][]; second: number[][] }>();
    const open: number[][] = [];
    for (const part of this.parts()) {
      const cert = this.discrete(part) ? certificate(u, p, part) : null;
      if (cert === null) {
        open.push(part);
        continue;
      }
      const entry = twins.get(cert) ?? { first: [], second: [] };
      twins.set(cert, entry);
      (part[0]! < u.n1 ? entry.first : entry.second).push(part);
    }
    const matched: [number, number][] = [];
    const byCell = (x: number, y: number) => p.cellOf[x]! - p.cellOf[y]!;
    for (const { first, second } of twins.values()) {
      if (first.length !== second.length) return null;
      for (const [part, twin] of pairAlike(first, second, (part) => likeness(p, this.prefer, part))) {
        const [a, b] = [[...part].sort(byCell), [...twin].sort(byCell)];
        a.forEach((v, k) => matched.push([v, b[k]!]));
      }
    }
    return { matched, open };
  }

  /** Connected parts of the free vertices (those in cells of more than one pair), by edges between them. */
  private parts(): number[][] {
    const { u, p, root } = this;
    const free: number[] = [];
    for (let s = 0; s < u.n; s += p.size[s]!) if (p.size[s]! > 2) for (let i = s; i < s + p.size[s]!; i++) free.push(p.elems[i]!);
    for (const v of free) root[v] = v;
    const find = (v: number): number => {
      while (root[v] !== v) v = root[v] = root[root[v]!]!;
      return v;
    };
    for (const l of u.labels) {
      const out = u.out[l]!;
      for (const v of free) {
        const t = out[v]!;
        if (t < 0 || p.size[p.cellOf[t]!]! <= 2) continue;
        const [a, b] = [find(v), find(t)];
        if (a !== b) root[Math.max(a, b)] = Math.min(a, b);
      }
    }
    const byRoot = new Map<number, number[]>();
    for (const v of free) {
      const r = find(v);
      const list = byRoot.get(r);
      if (list) list.push(v);
      else byRoot.set(r, [v]);
    }
    return [...byRoot.values()];
  }

  /** Whether no two vertices of the part share a cell. */
  private discrete(part: number[]): boolean {
    const t = ++this.tick;
    for (const v of part) {
      const c = this.p.cellOf[v]!;
      if (this.stamp[c] === t) return false;
      this.stamp[c] = t;
    }
    return true;
  }
}

/**
 * The part's vertices by cell, each with the cells its edges lead to. A fixed vertex and its
 * partner share one cell, so the spelling means the same on both sides. Edges from fixed vertices
 * need no spelling: in an equitable partition a vertex with one sits in a cell with one vertex
 * per side (a fixed vertex has one edge per label), so it is fixed too.
 */
function certificate(u: Union, p: Partition, part: number[]): string {
  const cell = (v: number) => p.cellOf[v]!;
  return [...part]
    .sort((a, b) => cell(a) - cell(b))
    .map((v) => `${cell(v)}>${u.labels.map((l) => (u.out[l]![v]! < 0 ? '' : cell(u.out[l]![v]!))).join(',')}`)
    .join(';');
}

/** What `prefer` says of a part: its preferred colours by cell; '' without a preference. */
export function likeness(p: Partition, prefer: ArrayLike<number> | null, part: number[]): string {
  if (!prefer) return '';
  return part
    .map((v) => `${p.cellOf[v]}:${prefer[v]}`)
    .sort()
    .join(',');
}

/** Pairs of the two lists, alike ones (same key) first, then the rest in order; as many as the shorter has. */
export function pairAlike<T>(first: T[], second: T[], key: (t: T) => string): [T, T][] {
  const waiting = new Map<string, T[]>();
  for (const t of [...second].reverse()) {
    const k = key(t);
    const list = waiting.get(k);
    if (list) list.push(t);
    else waiting.set(k, [t]);
  }
  const used = new Set<T>();
  const pairs: [T, T][] = [];
  const rest: T[] = [];
  for (const t of first) {
    const twin = waiting.get(key(t))?.pop();
    if (twin === undefined) rest.push(t);
    else {
      pairs.push([t, twin]);
      used.add(twin);
    }
  }
  const left = second.filter((t) => !used.has(t));
  rest.forEach((t, i) => i < left.length && pairs.push([t, left[i]!]));
  return pairs;
}
