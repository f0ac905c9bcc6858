// Why: refining two graphs as one — their disjoint union — gives colours that mean the same on
// both sides, so a colour class with more vertices on one side proves the graphs differ.
import { LABELS } from './graph.js';

export interface Union {
  /** Vertices 0 … n1-1 come from the first graph, n1 … n-1 from the second. */
  n: number;
  n1: number;
  /** Union vertex → the vertex in its own graph. */
  local: Int32Array;
  /** Per label: out[l][v] is where v's edge with label l points, or -1. */
  out: Int32Array[];
  /** Per label, the reverse edges as compressed rows: sources of x are inList[l][inStart[l][x] …]. */
  inStart: Int32Array[];
  inList: Int32Array[];
  /** Labels with at least one edge: refinement skips the rest. */
  labels: number[];
}

/** What unite needs of a graph: its edges, per label. A Graph is one, and so is a Union. */
export interface Edges {
  out: Int32Array[];
}

/**
 * The union of the subgraphs of g1 and g2 induced by the given vertices, in that order. Edges
 * leaving the lists are dropped: the search takes parts whose edges out lead only to vertices it
 * has fixed, which the colours already say (and the final check sees every edge).
 */
export function unite(g1: Edges, v1: readonly number[], g2: Edges, v2: readonly number[]): Union {
  const n1 = v1.length;
  const local = Int32Array.from([...v1, ...v2]);
  // The search unites many small parts of one big union: index through a scratch array kept per
  // graph (its entries are -1 between calls) rather than allocate one graph-sized array each time.
  const index1 = scratchOf(g1);
  v1.forEach((v, i) => (index1[v] = i));
  const index2 = scratchOf(g2);
  v2.forEach((v, i) => (index2[v] = n1 + i));
  try {
    return build(g1, index1, g2, index2, local, n1);
  } finally {
    for (const v of v1) index1[v] = -1;
    for (const v of v2) index2[v] = -1;
  }
}

const scratch = new WeakMap<Edges, Int32Array>();

function scratchOf(g: Edges): Int32Array {
  let index = scratch.get(g);
  if (!index) scratch.set(g, (index = new Int32Array(g.out[0]!.length).fill(-1)));
  return index;
}

function build(g1: Edges, index1: Int32Array, g2: Edges, index2: Int32Array, local: Int32Array, n1: number): Union {
  const n = local.length;
  const out: Int32Array[] = [];
  const inStart: Int32Array[] = [];
  const inList: Int32Array[] = [];
  const labels: number[] = [];
  for (let l = 0; l < LABELS.length; l++) {
    const o = new Int32Array(n).fill(-1);
    const start = new Int32Array(n + 1);
    for (const [g, index, from, to] of [[g1, index1, 0, n1], [g2, index2, n1, n]] as const) {
      const gOut = g.out[l]!;
      for (let u = from; u < to; u++) {
        const t = gOut[local[u]!]!;
        if (t < 0 || index[t]! < 0) continue;
        o[u] = index[t]!;
        start[o[u]! + 1]!++;
      }
    }
    for (let x = 0; x < n; x++) start[x + 1]! += start[x]!;
    const list = new Int32Array(start[n]!);
    const fill = start.slice(0, n);
    for (let u = 0; u < n; u++) if (o[u]! >= 0) list[fill[o[u]!]!++] = u;
    out.push(o);
    inStart.push(start);
    inList.push(list);
    if (list.length) labels.push(l);
  }
  return { n, n1, local, out, inStart, inList, labels };
}
