// Why: what the dump's stages share, in one typed place: every stage reads what the earlier ones
// left here and adds its own part, and close() releases every fd any of them opened, on every
// path out. A process found gone is recorded in `gone` by whichever stage noticed.
import { close } from '../../kernel/ffi.js';
import { detectFeatures } from '../../kernel/features.js';
import type { ThreadNamespaces } from '../../kernel/switch.js';
import type { Credentials, Features, Holder, Image } from '../../model/image.js';
import { NS_LINKS, type NsType, linkType } from '../../model/species.js';
import { NsGraph, nodeKey } from '../graph.js';
import { type LinkInodes, type ProcInfo, type WalkGaps, closeProcesses } from '../processes.js';
import type { NetStateReader } from '../state/net.js';
import { type Member, MountTables, type StateResult } from '../state/context.js';

/** What to dump: the tree below one process, or every process the dumper can see. */
export type DumpTarget = { pid: number } | { all: true };

/** An nsfs bind mount that holds a namespace: the mount namespace it is in, and where. */
export interface BindHolder {
  mnt: string;
  path: string;
  type: NsType;
}

export interface ScopeEntry {
  type: NsType;
  inode: number;
  nsId: string | null;
}

const push = <V>(m: Map<string, V[]>, k: string, v: V) => {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
};

export class DumpContext {
  readonly rootPid: number | null;
  readonly features: Features = detectFeatures();

  // processes
  readonly procs: ProcInfo[] = [];
  readonly gaps: WalkGaps = { unreadable: [] };
  /** Pids found gone meanwhile: left out of the image (unless it needed them: TreeChangedError). */
  readonly gone = new Set<number>();

  // namespaces: one fd per distinct namespace, and who refers to it
  readonly graph: NsGraph;
  /** Namespace key → processes whose link (active namespace) is that namespace. */
  readonly members = new Map<string, Member[]>();
  /** time namespace key → processes whose time_for_children is that namespace. */
  readonly timeForChildren = new Map<string, Member[]>();
  /** Namespace keys of each process's threads whose links differ from their leader's. */
  readonly threadKeys = new Map<number, Set<string>>();
  readonly fdHolders = new Map<string, Holder[]>();

  // holders
  readonly mountTables = new MountTables();
  readonly bindHolders = new Map<string, BindHolder[]>();
  /** mnt namespace key → the process its table (and so its bind mounts) was read through. */
  readonly bindSeers = new Map<string, Member>();

  // order: the dumper's own place, and the namespaces parents and owners first
  /** The dumper's own /proc/PID directory: it stands in as a member of its own namespaces. */
  selfDir: number | undefined;
  selfLinks: LinkInodes | undefined;
  scope: ScopeEntry[] = [];
  readonly scopeKeys = new Set<string>();
  order: string[] = [];

  // state
  scratchFd: number | undefined;
  /** The user namespace an unprivileged dumper made its scratch net namespace in. */
  scratchUserFd: number | undefined;
  threads: ThreadNamespaces | undefined;
  nets: NetStateReader | undefined;
  readonly states = new Map<string, StateResult<unknown>>();

  // credentials
  readonly nspids = new Map<number, number[]>();
  readonly creds = new Map<number, Credentials>();

  // assemble
  image: Image | undefined;

  constructor(
    readonly target: DumpTarget,
    /** Lets the event loop run (signals arrive there) and throws if the dump was asked to stop. */
    readonly pause: () => Promise<void>,
  ) {
    this.rootPid = 'pid' in target ? target.pid : null;
    this.graph = new NsGraph(this.features.nsGetId);
  }

  addMember(key: string, p: Member): void {
    push(this.members, key, p);
  }

  addTimeForChildren(key: string, p: Member): void {
    push(this.timeForChildren, key, p);
  }

  addFdHolder(key: string, h: Holder): void {
    push(this.fdHolders, key, h);
  }

  addBindHolder(key: string, b: BindHolder): void {
    push(this.bindHolders, key, b);
  }

  /** Leave out (and unpin) what only processes that are gone referred to (their namespaces may be gone too). */
  prune(): void {
    const { graph, gone } = this;
    const keep = new Set<string>();
    const add = (k: string | null) => {
      for (let key = k; key && !keep.has(key); ) {
        keep.add(key);
        const n = graph.nodes.get(key);
        if (!n) break;
        add(n.parent);
        key = n.owner;
      }
    };
    for (const p of this.procs) {
      if (gone.has(p.pid)) continue;
      for (const link of NS_LINKS) if (p.links[link] !== null) add(nodeKey(linkType(link), p.links[link]!));
      for (const k of this.threadKeys.get(p.pid) ?? []) add(k);
    }
    for (const [key, hs] of this.fdHolders) if (hs.some((h) => !gone.has(h.pid))) add(key);
    for (const [key, bs] of this.bindHolders) if (bs.some((b) => keep.has(b.mnt))) add(key);
    graph.retain(keep);
  }

  /** Release everything any stage opened: sockets, scratch namespace, worker thread, nsfs and /proc fds. */
  async close(): Promise<void> {
    this.nets?.close();
    if (this.scratchFd !== undefined) close(this.scratchFd);
    if (this.scratchUserFd !== undefined) close(this.scratchUserFd);
    await this.threads?.close();
    this.graph.close();
    closeProcesses(this.procs);
    if (this.selfDir !== undefined) close(this.selfDir);
  }
}
