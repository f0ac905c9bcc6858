// Why: two images describe the same namespaces when their graphs are isomorphic — same types,
// owner and parent edges, restorable state and bind mounts, and the same namespace sets in use —
// whatever the kernel ids and pids. Pairing namespaces by look-alike signatures gets this wrong
// for identical groups (and can call different images equal), so the verdict is a proof: colour
// refinement, identical groups paired by their colours, and for the rest a search that either
// finds an isomorphism (checked edge by edge), shows there is none, or runs out of time and says
// so. Only the messages about what differs are best effort.
import type { Image } from '../model/image.js';
import { Budget, TimeBound } from './budget.js';
import { certificate, components, pairByColour } from './components.js';
import { LABELS, buildGraph, type Graph } from './graph.js';
import { pairBestEffort, pairByPlace } from './match.js';
import { Partition } from './partition.js';
import { differences, type Difference } from './report.js';
import { findIsomorphism } from './search.js';
import { unite, type Union } from './union.js';

export { restorableState } from './state.js';
export { describe, type Difference, type Site } from './report.js';

/** How long the search may take before the verdict is "undecided". */
export const DEFAULT_TIMEOUT_MS = 5000;

export interface DiffOptions {
  /** Milliseconds before giving up as undecided (default 5000). */
  timeoutMs?: number;
}

export type Verdict = 'equivalent' | 'different' | 'undecided';

export interface DiffResult {
  verdict: Verdict;
  /** What differs, when the verdict is "different"; empty otherwise. */
  differences: Difference[];
  /** Namespaces besides the dumper's own, and namespace sets in use, in the first image. */
  namespaces: number;
  sets: number;
  /** Individualisations the search for the verdict tried. */
  searchNodes: number;
  timeoutMs: number;
}

/** Decide whether `a` and `b` are equivalent and, when they are not, say how they differ. */
export function diffImages(a: Image, b: Image, opts: DiffOptions = {}): DiffResult {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const budget = new Budget(timeoutMs);
  const g1 = buildGraph(a);
  const g2 = buildGraph(b);
  let searchNodes = 0;
  const result = (verdict: Verdict, diffs: Difference[]): DiffResult => ({ verdict, differences: diffs, namespaces: g1.ns.length, sets: g1.sets.length, searchNodes, timeoutMs });
  let d: Decision;
  try {
    d = decide(g1, g2, budget);
  } catch (err) {
    if (!(err instanceof TimeBound)) throw err;
    searchNodes = budget.nodes;
    return result('undecided', []);
  }
  // The messages search below shares the clock but not this count: it is the verdict's.
  searchNodes = budget.nodes;
  if (d.equivalent) return result('equivalent', []);
  const diffs = differences(g1, g2, pairForMessages(g1, g2, d, budget));
  // A pairing with nothing to say would be an isomorphism; kept so "different" always says something.
  return result('different', diffs.length ? diffs : [{ kind: 'graph', message: 'the namespace graphs are not isomorphic, though no single namespace or set could be named' }]);
}

/**
 * Differences from `a` to `b`; none means equivalent. An undecided comparison is one difference
 * of kind 'undecided', so that no caller mistakes it for equivalence.
 */
export function compareImages(a: Image, b: Image, opts: DiffOptions = {}): Difference[] {
  const r = diffImages(a, b, opts);
  if (r.verdict !== 'undecided') return r.differences;
  return [{ kind: 'undecided', message: `undecided: ${undecidedReason(r)}` }];
}

/** "the search for an isomorphism hit its time bound (5 s, 812 search nodes)". */
export function undecidedReason(r: DiffResult): string {
  return `the search for an isomorphism hit its time bound (${r.timeoutMs / 1000} s, ${r.searchNodes} search nodes)`;
}

interface Decision {
  equivalent: boolean;
  /** Vertices of components paired as identical, first graph → second. */
  pairs: Map<number, number>;
  /** Vertices of the components left over. */
  rest1: number[];
  rest2: number[];
}

function decide(g1: Graph, g2: Graph, budget: Budget): Decision {
  const range = (g: Graph) => Array.from({ length: g.size }, (_, v) => v);
  const u = unite(g1, range(g1), g2, range(g2));
  const p = new Partition(u, numbered([...g1.full, ...g2.full]), budget);
  p.refine(false);
  const colour1 = p.cellOf.slice(0, g1.size);
  const colour2 = p.cellOf.slice(g1.size);
  const { pairs, rest1, rest2, unmatched } = pairComponents(g1, g2, colour1, colour2);
  const decision = (equivalent: boolean): Decision => ({ equivalent, pairs, rest1, rest2 });
  // A colour with more vertices on one side, or a group without its twin: no isomorphism.
  if (!p.balanced() || unmatched) return decision(false);
  if (rest1.length || rest2.length) {
    const su = unite(g1, rest1, g2, rest2);
    const found = findIsomorphism(su, Int32Array.from(su.local, (v, i) => (i < su.n1 ? colour1[v]! : colour2[v]!)), { budget });
    if (!found) return decision(false);
    for (const [x, y] of found) pairs.set(su.local[x]!, su.local[y]!);
  }
  if (!isIsomorphism(g1, g2, pairs)) throw new Error('diff: internal: the isomorphism found fails its edge-by-edge check');
  return decision(true);
}

/** Colour names → small numbers, equal names equal numbers. */
function numbered(names: string[]): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(names, (c) => {
    let id = ids.get(c);
    if (id === undefined) ids.set(c, (id = ids.size));
    return id;
  });
}

/**
 * Components whose vertices all have colours of their own pair off by certificate; `unmatched`
 * when such a component has no twin on the other side (then the graphs differ). Components with
 * a repeated colour are left to the search.
 */
function pairComponents(g1: Graph, g2: Graph, colour1: Int32Array, colour2: Int32Array) {
  const c1 = (v: number) => colour1[v]!;
  const c2 = (v: number) => colour2[v]!;
  const twins = new Map<string, { list: number[][]; next: number }>();
  const rest1: number[] = [];
  const rest2: number[] = [];
  for (const comp of components(g2)) {
    const cert = certificate(g2, comp, c2);
    if (cert === null) rest2.push(...comp);
    else if (twins.has(cert)) twins.get(cert)!.list.push(comp);
    else twins.set(cert, { list: [comp], next: 0 });
  }
  const pairs = new Map<number, number>();
  let unmatched = false;
  for (const comp of components(g1)) {
    const cert = certificate(g1, comp, c1);
    const t = cert === null ? undefined : twins.get(cert);
    if (t && t.next < t.list.length) {
      for (const [v, w] of pairByColour(comp, t.list[t.next++]!, c1, c2)) pairs.set(v, w);
      continue;
    }
    rest1.push(...comp);
    if (cert !== null) unmatched = true;
  }
  for (const t of twins.values()) {
    for (const comp of t.list.slice(t.next)) rest2.push(...comp);
    if (t.next < t.list.length) unmatched = true;
  }
  return { pairs, rest1, rest2, unmatched };
}

/** The final check of a verdict "equivalent": a bijection keeping full colours and every labelled edge. */
function isIsomorphism(g1: Graph, g2: Graph, map: Map<number, number>): boolean {
  if (g1.size !== g2.size || map.size !== g1.size) return false;
  const hit = new Uint8Array(g2.size);
  for (const [v, w] of map) {
    if (hit[w] || g1.full[v] !== g2.full[w]) return false;
    hit[w] = 1;
    for (let l = 0; l < LABELS.length; l++) {
      const [t, t2] = [g1.out[l]![v]!, g2.out[l]![w]!];
      if (t < 0 ? t2 >= 0 : map.get(t) !== t2) return false;
    }
  }
  return true;
}

/**
 * Identical components as paired. The rest, when only state or bind mounts differ, by an
 * isomorphism of their shapes (colours without either) that pairs equal state first; otherwise,
 * or when the clock has run out, by where their vertices sit, sets included (so that identical
 * groups stay whole), and then the namespaces still alone by owner and parent only.
 */
function pairForMessages(g1: Graph, g2: Graph, d: Decision, budget: Budget): Map<number, number> {
  const pairs = new Map(d.pairs);
  const u = unite(g1, d.rest1, g2, d.rest2);
  const shape = numbered(Array.from(u.local, (v, i) => (i < u.n1 ? g1.shape[v]! : g2.shape[v]!)));
  const state = numbered(Array.from(u.local, (v, i) => (i < u.n1 ? g1.full[v]! : g2.full[v]!)));
  const add = (found: Map<number, number>) => found.forEach((y, x) => pairs.set(u.local[x]!, u.local[y]!));
  const sameShape = shapeIsomorphism(u, shape, state, budget);
  if (sameShape) add(sameShape);
  else {
    add(pairBestEffort(u, shape, state));
    pairByPlace(g1, g2, pairs);
  }
  return pairs;
}

function shapeIsomorphism(u: Union, shape: Int32Array, state: Int32Array, budget: Budget): Map<number, number> | null {
  try {
    return findIsomorphism(u, shape, { budget, prefer: state });
  } catch (err) {
    if (err instanceof TimeBound) return null;
    throw err;
  }
}
