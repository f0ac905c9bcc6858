// Why: refinement alone cannot tell every pair of graphs apart, nor say which vertex maps to which
// when groups are identical. Individualise-and-refine can: fix one first-graph vertex of the
// smallest cell, try each second-graph vertex of that cell as its image, refine, and recurse; a
// cell with more vertices on one side ends a branch. At every node the fixed vertices cut the
// rest into parts (decompose.ts): parts with a cell per vertex match by certificate, and when
// several parts are left they are sorted into isomorphism classes by small searches of their
// own, so identical groups cost one small search each, not a level of a search over everything.
import type { Budget } from './budget.js';
import { Decomposer, likeness, pairAlike } from './decompose.js';
import { Partition } from './partition.js';
import { unite, type Union } from './union.js';

interface Frame {
  v: number;
  candidates: number[];
  next: number;
  mark: number;
}

/** What a node of the search found: an isomorphism, none below this node, or where to branch. */
type Outcome = { found: Map<number, number> } | { none: true } | { branch: Frame };

/** What a search is given besides the graphs: its clock, and which of equal choices to try first. */
export interface SearchOptions {
  budget: Budget;
  /** Colours per union vertex; where choices are otherwise equal, vertices of one colour pair first. */
  prefer?: ArrayLike<number>;
}

/**
 * An isomorphism of the union's two sides that keeps `colour` (first-graph vertex → second-graph
 * vertex, union numbering), or null when there is none. Throws TimeBound when the budget runs out.
 */
export function findIsomorphism(u: Union, colour: ArrayLike<number>, opts: SearchOptions): Map<number, number> | null {
  const { budget } = opts;
  const p = new Partition(u, colour, budget);
  if (!p.balanced() || !p.refine(true)) return null;
  const decomposer = new Decomposer(u, p, opts.prefer ?? null);
  const stack: Frame[] = [];
  for (;;) {
    budget.check();
    const outcome = visit(u, colour, p, decomposer, opts);
    if ('found' in outcome) return outcome.found;
    if ('branch' in outcome) stack.push(outcome.branch);
    if (!descend(p, stack, budget)) return null;
  }
}

function visit(u: Union, colour: ArrayLike<number>, p: Partition, decomposer: Decomposer, opts: SearchOptions): Outcome {
  const open = settle(p, decomposer);
  if (!open) return { none: true };
  const first = open.filter((part) => part[0]! < u.n1);
  // An isomorphism maps parts onto parts.
  if (first.length * 2 !== open.length) return { none: true };
  if (first.length === 1) return { branch: branch(p, open, u.n1, opts.prefer) };
  const found = p.pairs();
  if (first.length > 1) {
    const twins = matchParts(u, p, open, opts);
    if (!twins) return { none: true };
    for (const [v, w] of twins) found.set(v, w);
  }
  return preservesEdges(u, colour, found) ? { found } : { none: true };
}

/**
 * Fix the pairs that parts matched by certificate give, refine, and again, until no part
 * matches; the open parts left, or null when the node has no isomorphism.
 */
function settle(p: Partition, decomposer: Decomposer): number[][] | null {
  for (;;) {
    const found = decomposer.run();
    if (!found) return null;
    if (!found.matched.length) return found.open;
    for (const [v, w] of found.matched) p.individualise(v, w);
    if (!p.refine(true)) return null;
  }
}

/**
 * Each first-graph part paired with an isomorphic second-graph part of the same cells. Parts
 * touch only through fixed vertices, which their cells already say, so they are independent.
 * They are sorted into isomorphism classes by a search against one part of each class (so few
 * classes cost few searches, whatever the number of parts), and every class must hold as many
 * parts of one side as of the other.
 */
function matchParts(u: Union, p: Partition, open: number[][], opts: SearchOptions): Map<number, number> | null {
  const byCells = new Map<string, number[][]>();
  for (const part of open) {
    const key = part.map((v) => p.cellOf[v]!).sort((a, b) => a - b).join(',');
    const list = byCells.get(key);
    if (list) list.push(part);
    else byCells.set(key, [part]);
  }
  const found = new Map<number, number>();
  const like = (m: Member) => likeness(p, opts.prefer ?? null, m.part);
  for (const parts of byCells.values()) {
    for (const members of isomorphismClasses(u, p, parts, opts)) {
      const first = members.filter((m) => m.part[0]! < u.n1);
      const second = members.filter((m) => m.part[0]! >= u.n1);
      if (first.length !== second.length) return null;
      // a → b is (representative → b) after (representative → a) undone.
      for (const [a, b] of pairAlike(first, second, like)) for (const [r, x] of a.fromRep) found.set(x, b.fromRep.get(r)!);
    }
  }
  return found;
}

/** A part, and an isomorphism onto it from its class's representative. */
interface Member {
  part: number[];
  fromRep: Map<number, number>;
}

function isomorphismClasses(u: Union, p: Partition, parts: number[][], opts: SearchOptions): Member[][] {
  const classes: Member[][] = [];
  for (const part of parts) {
    const home = classes.find((members) => {
      const iso = partIsomorphism(u, p, members[0]!.part, part, opts);
      if (iso) members.push({ part, fromRep: iso });
      return iso !== null;
    });
    if (!home) classes.push([{ part, fromRep: new Map(part.map((v) => [v, v])) }]);
  }
  return classes;
}

/** An isomorphism from part a onto part b keeping their cells (union numbering), or null. */
function partIsomorphism(u: Union, p: Partition, a: number[], b: number[], opts: SearchOptions): Map<number, number> | null {
  const sub = unite(u, a, u, b);
  const prefer = opts.prefer;
  const subOpts = { budget: opts.budget, ...(prefer ? { prefer: Int32Array.from(sub.local, (v) => prefer[v]!) } : {}) };
  const iso = findIsomorphism(sub, Int32Array.from(sub.local, (v) => p.cellOf[v]!), subOpts);
  return iso && new Map([...iso].map(([x, y]) => [sub.local[x]!, sub.local[y]!]));
}

/**
 * Where to branch: the first vertex of the first graph in the smallest cell holding open
 * vertices, and the open vertices of the second graph in that cell as its candidates, those of
 * its preferred colour first.
 */
function branch(p: Partition, open: number[][], n1: number, prefer?: ArrayLike<number>): Frame {
  const vertices = open.flat();
  let cell = -1;
  for (const v of vertices) {
    const c = p.cellOf[v]!;
    if (cell < 0 || p.size[c]! < p.size[cell]! || (p.size[c] === p.size[cell] && c < cell)) cell = c;
  }
  const inCell = vertices.filter((v) => p.cellOf[v] === cell).sort((a, b) => a - b);
  const v = inCell.find((x) => x < n1)!;
  const candidates = inCell.filter((x) => x >= n1);
  if (prefer) candidates.sort((a, b) => Number(prefer[b] === prefer[v]) - Number(prefer[a] === prefer[v]));
  return { v, candidates, next: 0, mark: p.mark() };
}

/** Try the next candidate of the deepest frame with one left (undoing what was tried); false when none is. */
function descend(p: Partition, stack: Frame[], budget: Budget): boolean {
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    p.undo(f.mark);
    if (f.next === f.candidates.length) {
      stack.pop();
      continue;
    }
    budget.nodes++;
    p.individualise(f.v, f.candidates[f.next++]!);
    if (p.refine(true)) return true;
  }
  return false;
}

/** The mapping found, checked edge by edge: colours kept, every labelled edge mapped onto one. */
export function preservesEdges(u: Union, colour: ArrayLike<number>, map: Map<number, number>): boolean {
  if (map.size !== u.n1 || u.n !== 2 * u.n1) return false;
  const hit = new Uint8Array(u.n);
  for (const [v, w] of map) {
    if (w < u.n1 || hit[w] || colour[v] !== colour[w]) return false;
    hit[w] = 1;
    for (const l of u.labels) {
      const [t, t2] = [u.out[l]![v]!, u.out[l]![w]!];
      if (t < 0 ? t2 >= 0 : map.get(t) !== t2) return false;
    }
  }
  return true;
}
