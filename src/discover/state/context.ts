// Why: what every state reader needs: the graph, which processes sit in which namespace, the
// main-thread switcher, and the mount tables (read once, shared with the holder scan).
import type { NsGraph, NsNode } from '../graph.js';
import type { ThreadNamespaces } from '../../kernel/switch.js';
import type { Features, Mount } from '../../model/image.js';
import { parseMountinfo, readText } from '../procfs.js';
import type { LinkInodes } from '../processes.js';

export interface StateResult<S> {
  state: S | null;
  note: string;
}

/** Each mount namespace's table, read and parsed once (holders and state both need it). */
export class MountTables {
  private readonly cache = new Map<string, Mount[]>();

  get(mntKey: string, pid: number): Mount[] {
    let table = this.cache.get(mntKey);
    if (table === undefined) {
      table = parseMountinfo(readText(`/proc/${pid}/mountinfo`));
      this.cache.set(mntKey, table);
    }
    return table;
  }
}

export class StateContext {
  constructor(
    readonly graph: NsGraph,
    /** Namespace key → pids of the tree whose link (active namespace) is that namespace. */
    readonly members: Map<string, number[]>,
    /** time namespace key → pids whose time_for_children is that namespace. */
    readonly timeForChildren: Map<string, number[]>,
    readonly threads: ThreadNamespaces,
    /** Keys of the dumper's own namespaces. */
    readonly scopeKeys: Set<string>,
    readonly features: Features,
    /** The dumper's own links: it can stand in as a member of its own namespaces. */
    readonly selfLinks: LinkInodes,
    readonly mountTables: MountTables,
  ) {}

  /**
   * A process inside the namespace: one of the tree, else the dumper itself when it is its own
   * (a helper cannot enter the user namespace it is already in: setns answers EINVAL).
   */
  firstMember(node: NsNode): number | undefined {
    const tree = this.members.get(node.key)?.[0];
    if (tree !== undefined) return tree;
    return this.selfLinks[node.type] === node.inode ? process.pid : undefined;
  }

  /** A process whose time_for_children is this time namespace (timens_offsets shows that one). */
  timeReader(node: NsNode): number | undefined {
    const tree = this.timeForChildren.get(node.key)?.[0];
    if (tree !== undefined) return tree;
    return this.selfLinks.time_for_children === node.inode ? process.pid : undefined;
  }

  /** A path a helper process can open to reach the namespace: our own fd through /proc. */
  fdPath(node: NsNode): string {
    return `/proc/${process.pid}/fd/${node.fd}`;
  }

}
