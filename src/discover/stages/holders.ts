// Why: stage three — namespaces held by nsfs bind mounts (ip netns add, unshare --uts=FILE), found
// in the mount table of every mount namespace the tree uses and opened through the root of a
// process inside it (relative to its pinned /proc/PID directory). The table read here is kept for
// the mnt state (MountTables). fd holders were found with the namespaces.
import { SyscallError } from '../../kernel/errors.js';
import { nsTypeFromLinkName, parseNsLink } from '../../model/species.js';
import { isVanished } from '../state/context.js';
import type { DumpContext } from './context.js';

export function holdersStage(ctx: DumpContext): void {
  const { graph, gone } = ctx;
  for (const node of [...graph.nodes.values()]) {
    if (node.type !== 'mnt') continue;
    for (const m of ctx.members.get(node.key) ?? []) {
      if (gone.has(m.pid)) continue;
      let table;
      try {
        table = ctx.mountTables.get(node.key, m);
      } catch (err) {
        if (!isVanished(err)) throw err;
        gone.add(m.pid);
        continue;
      }
      for (const mount of table) {
        if (mount.fsType !== 'nsfs') continue;
        const parsed = parseNsLink(mount.root);
        const type = parsed && nsTypeFromLinkName(parsed[0]);
        if (!parsed || !type) continue;
        try {
          const held = graph.addAt(m.dirfd, `root${mount.mountPoint}`, `/proc/${m.pid}/root${mount.mountPoint}`, type, parsed[1]);
          ctx.addBindHolder(held.key, { mnt: node.key, path: mount.mountPoint, type });
        } catch (err) {
          // A mount over the bind mount hides it; it still holds the namespace but cannot be opened.
          if (!isVanished(err) && !(err instanceof SyscallError && err.code === 'EACCES')) throw err;
        }
      }
      ctx.bindSeers.set(node.key, m);
      break;
    }
  }
}
