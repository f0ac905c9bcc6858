// Why: stage two — one pinned fd per distinct namespace the processes refer to, through each
// process's links, its threads' links and its open nsfs fds, all opened relative to the process's
// pinned /proc/PID directory: a pid reused since the walk is never opened in its place. Opening
// one also follows its owner and parent edges (NsGraph). A process gone before its namespaces
// could be pinned is left out here (checked again before assembly).
import { NS_LINKS, linkType } from '../../model/species.js';
import { isVanished } from '../state/context.js';
import type { DumpContext } from './context.js';

type LinkKind = 'member' | 'tfc' | 'pfc';

export async function namespacesStage(ctx: DumpContext): Promise<void> {
  const { graph } = ctx;
  for (const [i, p] of ctx.procs.entries()) {
    if (i % 256 === 255) await ctx.pause();
    const dir = `/proc/${p.pid}`;
    const mine: [LinkKind, string][] = [];
    try {
      for (const link of NS_LINKS) {
        const ino = p.links[link];
        if (ino === null) continue;
        const kind: LinkKind = link === 'time_for_children' ? 'tfc' : link === 'pid_for_children' ? 'pfc' : 'member';
        mine.push([kind, graph.addAt(p.dirfd, `ns/${link}`, `${dir}/ns/${link}`, linkType(link), ino).key]);
      }
    } catch (err) {
      if (!isVanished(err)) throw err;
      ctx.gone.add(p.pid);
      continue;
    }
    for (const [kind, key] of mine) {
      if (kind === 'member') ctx.addMember(key, p);
      else if (kind === 'tfc') ctx.addTimeForChildren(key, p);
    }
    const tk = new Set<string>();
    p.threads = p.threads.filter((t) => {
      try {
        for (const link of NS_LINKS) {
          const ino = t.links[link];
          const name = `task/${t.tid}/ns/${link}`;
          if (ino !== null) tk.add(graph.addAt(p.dirfd, name, `${dir}/${name}`, linkType(link), ino).key);
        }
        return true;
      } catch (err) {
        if (isVanished(err)) return false; // the thread ended
        throw err;
      }
    });
    ctx.threadKeys.set(p.pid, tk);
    for (const f of p.nsFds) {
      try {
        const node = graph.addAt(p.dirfd, `fd/${f.fd}`, `${dir}/fd/${f.fd}`, f.type, f.inode);
        f.type = node.type;
        ctx.addFdHolder(node.key, { kind: 'fd', pid: p.pid, fd: f.fd });
      } catch (err) {
        if (isVanished(err)) continue; // closed meanwhile: it holds nothing any more
        throw err;
      }
    }
  }
}
