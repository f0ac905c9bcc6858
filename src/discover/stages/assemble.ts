// Why: the last stage — what the image keeps, and the image. A process that exited while the rest
// was read no longer exists: it is left out, unless the image needs it (the root is the image; a
// parent of a process still there is a link the replay of the tree needs, its children now hang
// elsewhere in the kernel's tree): then the dump is tried again (TreeChangedError).
import { uname } from '../../kernel/ffi.js';
import { FORMAT_VERSION, NSDUMP_VERSION } from '../../model/format.js';
import type { Holder, Namespace, NsRefs, Process, Thread } from '../../model/image.js';
import { NS_LINKS, linkType } from '../../model/species.js';
import { TreeChangedError } from '../errors.js';
import { nodeKey } from '../graph.js';
import { type LinkInodes, stillAlive } from '../processes.js';
import type { DumpContext } from './context.js';

export function assembleStage(ctx: DumpContext): void {
  const { graph, gone, procs, rootPid } = ctx;
  for (const p of procs) if (!gone.has(p.pid) && !stillAlive(p)) gone.add(p.pid);
  if (rootPid !== null && gone.has(rootPid)) throw new TreeChangedError(`pid ${rootPid} (the root) exited`);
  if (rootPid !== null) {
    const orphan = procs.find((p) => !gone.has(p.pid) && gone.has(p.ppid));
    if (orphan) throw new TreeChangedError(`pid ${orphan.ppid}, the parent of pid ${orphan.pid}, exited`);
  }
  ctx.prune();

  const kept = ctx.order.filter((k) => graph.nodes.has(k));
  const ids = new Map(kept.map((k, i) => [k, i + 1]));
  ctx.nets?.resolvePeers(ids);
  const ref = (k: string | null) => (k === null ? null : ids.get(k)!);
  const live = procs.filter((p) => !gone.has(p.pid));
  const holdersOf = (key: string): Holder[] => {
    const fd = (ctx.fdHolders.get(key) ?? []).filter((h) => !gone.has(h.pid));
    const bind = (ctx.bindHolders.get(key) ?? []).flatMap((b): Holder[] => {
      // Name a process still in the mount namespace where the bind mount is.
      const seer = [ctx.bindSeers.get(b.mnt), ...(ctx.members.get(b.mnt) ?? [])].find((m) => m && !gone.has(m.pid) && m.pid !== process.pid);
      return seer && graph.nodes.has(b.mnt) ? [{ kind: 'bind', pid: seer.pid, path: b.path }] : [];
    });
    return [...fd, ...bind].sort((a, b) => a.kind.localeCompare(b.kind) || a.pid - b.pid || (a.fd ?? 0) - (b.fd ?? 0) || (a.path ?? '').localeCompare(b.path ?? ''));
  };
  const namespaces: Namespace[] = kept.map((key) => {
    const n = graph.nodes.get(key)!;
    const result = ctx.states.get(key)!;
    // The state reader of n.type read the state: it is this type's (the map cannot say so to TypeScript).
    return {
      id: ids.get(key)!,
      type: n.type,
      inode: n.inode,
      device: n.device,
      nsId: n.nsId,
      owner: ref(n.owner),
      parent: ref(n.parent),
      ownerBeyondScope: n.ownerBeyondScope,
      parentBeyondScope: n.parentBeyondScope,
      inScope: ctx.scopeKeys.has(key),
      initial: n.initial,
      holders: holdersOf(key),
      state: result.state,
      stateNote: result.note,
    } as Namespace;
  });
  const refs = (links: LinkInodes): NsRefs =>
    Object.fromEntries(NS_LINKS.map((l) => [l, links[l] === null ? null : ids.get(nodeKey(linkType(l), links[l]!))!])) as NsRefs;
  const processes: Process[] = live
    .map((p) => ({ pid: p.pid, ppid: p.ppid, comm: p.comm, nspid: ctx.nspids.get(p.pid)!, namespaces: refs(p.links), credentials: ctx.creds.get(p.pid) ?? null }))
    .sort((a, b) => a.pid - b.pid);
  const threads: Thread[] = live
    .flatMap((p) => p.threads.map((t) => ({ pid: p.pid, tid: t.tid, namespaces: refs(t.links) })))
    .sort((a, b) => a.pid - b.pid || a.tid - b.tid);
  const u = uname();
  ctx.image = {
    inventory: {
      formatVersion: FORMAT_VERSION,
      nsdumpVersion: NSDUMP_VERSION,
      kernelRelease: u.release,
      features: ctx.features,
      scope: ctx.scope.map((s) => ({ ...s, id: ids.get(nodeKey(s.type, s.inode)) ?? null })),
      rootPid,
      unreadablePids: [...ctx.gaps.unreadable].sort((a, b) => a - b),
      time: Date.now(),
      hostname: u.nodename.toString('utf8'), // for people: U+FFFD where not UTF-8
    },
    namespaces,
    processes,
    threads,
  };
}
