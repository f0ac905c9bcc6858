// Why: images and plans list namespaces so that every owner comes before what it owns and every
// parent before its children, user namespaces first; ties are broken by type, then kernel id, so
// the same host state always gives the same order (and the same dense image ids).
import { type NsType, TYPE_RANK } from './species.js';

export interface OrderNode {
  key: string;
  type: NsType;
  /** Kernel id (NS_GET_ID) or inode: only used to break ties. */
  sortKey: bigint;
  owner: string | null;
  parent: string | null;
}

export class CycleError extends Error {
  override readonly name = 'CycleError';
}

export function topoOrder(nodes: OrderNode[]): string[] {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const sorted = [...nodes].sort((a, b) => TYPE_RANK[a.type] - TYPE_RANK[b.type] || (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: string[] = [];
  const visit = (n: OrderNode, path: string[]) => {
    const s = state.get(n.key);
    if (s === 'done') return;
    if (s === 'visiting') throw new CycleError(`owner/parent cycle: ${[...path, n.key].join(' → ')}`);
    state.set(n.key, 'visiting');
    for (const dep of [n.owner, n.parent]) {
      const d = dep === null ? undefined : byKey.get(dep);
      if (d) visit(d, [...path, n.key]);
    }
    state.set(n.key, 'done');
    out.push(n.key);
  };
  for (const n of sorted) visit(n, []);
  return out;
}
