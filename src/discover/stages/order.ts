// Why: stage four — the dumper's own place (its namespaces are the edge of what it can see), what
// only vanished processes referred to left out, and the namespaces in the order state is read and
// images list them: owners and parents first (user maps are made parent-relative that way).
import { close, openAt, openDir } from '../../kernel/ffi.js';
import { nsGetId } from '../../kernel/nsfs.js';
import { topoOrder } from '../../model/order.js';
import { NS_TYPES } from '../../model/species.js';
import { nodeKey } from '../graph.js';
import { type LinkInodes, readLinksAt } from '../processes.js';
import type { DumpContext, ScopeEntry } from './context.js';

export function orderStage(ctx: DumpContext): void {
  ctx.selfDir = openDir(`/proc/${process.pid}`);
  ctx.selfLinks = readLinksAt(ctx.selfDir, '/proc/self');
  ctx.scope = scopeOf(ctx.selfDir, ctx.selfLinks, ctx.features.nsGetId);
  for (const s of ctx.scope) ctx.scopeKeys.add(nodeKey(s.type, s.inode));
  ctx.prune();
  ctx.order = topoOrder(
    [...ctx.graph.nodes.values()].map((n) => ({ key: n.key, type: n.type, sortKey: BigInt(n.nsId ?? n.inode), owner: n.owner, parent: n.parent })),
  );
}

/** The dumper's own namespaces: what it stands in, and so the edge of what it can see. */
function scopeOf(selfDir: number, links: LinkInodes, haveNsId: boolean): ScopeEntry[] {
  return NS_TYPES.map((type) => {
    let nsId: string | null = null;
    if (haveNsId) {
      const fd = openAt(selfDir, `ns/${type}`, undefined, `/proc/self/ns/${type}`);
      try {
        nsId = nsGetId(fd);
      } finally {
        close(fd);
      }
    }
    return { type, inode: links[type]!, nsId };
  });
}
