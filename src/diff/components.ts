// Why: images are mostly many small unconnected groups (a container's namespaces and the sets of
// its processes). Once refinement has given every vertex of such a group a colour of its own,
// the group's colours and edges spell it out completely, so identical groups pair off by that
// spelling in linear time, and only the rest needs the search.
import { LABELS, type Graph } from './graph.js';

/** Connected components (edges taken both ways), each a list of vertices in ascending order. */
export function components(g: Graph): number[][] {
  const root = Int32Array.from({ length: g.size }, (_, i) => i);
  const find = (v: number): number => {
    while (root[v] !== v) {
      root[v] = root[root[v]!]!;
      v = root[v]!;
    }
    return v;
  };
  for (const o of g.out) {
    for (let v = 0; v < g.size; v++) {
      if (o[v]! < 0) continue;
      const [a, b] = [find(v), find(o[v]!)];
      if (a !== b) root[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const byRoot = new Map<number, number[]>();
  for (let v = 0; v < g.size; v++) {
    const r = find(v);
    const list = byRoot.get(r);
    if (list) list.push(v);
    else byRoot.set(r, [v]);
  }
  return [...byRoot.values()];
}

/**
 * The component's vertices ordered by colour, each with its colour and its edges as the colours
 * they lead to; null when two vertices share a colour (then the spelling would not be unique).
 * Stable colours of one refinement of both graphs are invariant under isomorphism, so two such
 * components are isomorphic exactly when their certificates are equal.
 */
export function certificate(g: Graph, comp: readonly number[], colour: (v: number) => number): string | null {
  const byColour = [...comp].sort((a, b) => colour(a) - colour(b));
  for (let i = 1; i < byColour.length; i++) if (colour(byColour[i]!) === colour(byColour[i - 1]!)) return null;
  return byColour
    .map((v) => {
      const edges = LABELS.map((_, l) => g.out[l]![v]!).map((t) => (t < 0 ? '' : colour(t)));
      return `${colour(v)}:${edges.join(',')}`;
    })
    .join(';');
}

/** Pairs the vertices of two components with equal certificates: equal colours correspond. */
export function pairByColour(c1: readonly number[], c2: readonly number[], colour1: (v: number) => number, colour2: (v: number) => number): [number, number][] {
  const a = [...c1].sort((x, y) => colour1(x) - colour1(y));
  const b = [...c2].sort((x, y) => colour2(x) - colour2(y));
  return a.map((v, i) => [v, b[i]!]);
}
