// Why: what every state reader needs: the graph, which processes sit in which namespace, the
// main-thread switcher, and cached mount tables.
import type { NsGraph, NsNode } from '../graph.js';
import type { ThreadNamespaces } from '../../kernel/switch.js';
import type { Features } from '../../model/image.js';
import { readText } from '../procfs.js';
import type { LinkInodes } from '../processes.js';

export interface StateResult<S> {
  state: S | null;
  note: string;
}

export class StateContext {
  private readonly mountinfoCache = new Map<string, string>();

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

  mountinfo(mntKey: string, pid: number): string {
    let text = this.mountinfoCache.get(mntKey);
    if (text === undefined) {
      text = readText(`/proc/${pid}/mountinfo`);
      this.mountinfoCache.set(mntKey, text);
    }
    return text;
  }
}
