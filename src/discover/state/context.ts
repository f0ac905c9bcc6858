// Why: what every state reader needs: the graph, which processes sit in which namespace (each
// with its pinned /proc/PID dirfd), the thread switcher, and the mount tables (read once, shared
// with the holder scan). A member that exits while it is read is marked gone and the next one is
// asked: a vanished process must never end the dump.
import type { NsGraph, NsNode } from '../graph.js';
import type { SwitchableType, ThreadNamespaces } from '../../kernel/switch.js';
import type { ThreadOp, ThreadOpResult } from '../../kernel/thread-ops.js';
import { readFileAt, readlinkAt } from '../../kernel/ffi.js';
import { SyscallError, isErrno } from '../../kernel/errors.js';
import { HelperError, readFilesInsideBytes } from '../helper.js';
import type { Features, Mount } from '../../model/image.js';
import { parseMountinfo } from '../procfs.js';
import type { LinkInodes } from '../processes.js';

export interface StateResult<S> {
  state: S | null;
  note: string;
}

/** A process to read a namespace through: its pid and its open /proc/PID directory. */
export interface Member {
  pid: number;
  dirfd: number;
}

/** A process that has exited (or was reaped) answers ENOENT or ESRCH under its /proc directory. */
export function isVanished(err: unknown): boolean {
  return isErrno(err, 'ENOENT', 'ESRCH');
}

/** A live process shows its namespace links; an exited one (zombie or reaped) does not — uts, not user (stillAlive). */
export function hasNamespaces(m: Member): boolean {
  try {
    readlinkAt(m.dirfd, 'ns/uts');
    return true;
  } catch (err) {
    if (isVanished(err)) return false;
    throw err;
  }
}

/** Each mount namespace's table, read and parsed once (holders and state both need it). */
export class MountTables {
  private readonly cache = new Map<string, Mount[]>();

  get(mntKey: string, member: Member): Mount[] {
    let table = this.cache.get(mntKey);
    if (table === undefined) {
      table = parseMountinfo(readFileAt(member.dirfd, 'mountinfo', `/proc/${member.pid}/mountinfo`));
      this.cache.set(mntKey, table);
    }
    return table;
  }
}

export class StateContext {
  constructor(
    readonly graph: NsGraph,
    /** Namespace key → processes of the tree whose link (active namespace) is that namespace. */
    readonly members: Map<string, Member[]>,
    /** time namespace key → processes whose time_for_children is that namespace. */
    readonly timeForChildren: Map<string, Member[]>,
    readonly threads: ThreadNamespaces,
    /** Keys of the dumper's own namespaces. */
    readonly scopeKeys: Set<string>,
    readonly features: Features,
    /** The dumper's own links and /proc directory: it can stand in as a member of its own namespaces. */
    readonly selfLinks: LinkInodes,
    readonly self: Member,
    readonly mountTables: MountTables,
    /** Pids found gone meanwhile; shared with the rest of the dump, which leaves them out. */
    readonly gone: Set<number>,
  ) {}

  /**
   * `fn` through a process inside the namespace: one of the tree, else the dumper itself when it
   * is its own (a helper cannot enter the user namespace it is already in: setns answers EINVAL).
   * undefined when no such process is left.
   */
  withMember<R>(node: NsNode, fn: (m: Member) => R): R | undefined {
    const own = this.selfLinks[node.type] === node.inode ? [this.self] : [];
    return this.tryEach([...(this.members.get(node.key) ?? []), ...own], fn);
  }

  /** `fn` through a process whose time_for_children is this time namespace (timens_offsets shows that one). */
  withTimeReader<R>(node: NsNode, fn: (m: Member) => R): R | undefined {
    const own = this.selfLinks.time_for_children === node.inode ? [this.self] : [];
    return this.tryEach([...(this.timeForChildren.get(node.key) ?? []), ...own], fn);
  }

  /**
   * The first candidate through which `fn` succeeds and that is still alive afterwards. A process
   * dying under us does not always answer ENOENT: an exiting task or a zombie has dropped its
   * namespaces, and some files then read empty (timens_offsets) — so whatever the read did, it
   * counts only if the process still had its namespaces after it.
   */
  private tryEach<R>(candidates: Member[], fn: (m: Member) => R): R | undefined {
    for (const m of candidates) {
      if (this.gone.has(m.pid)) continue;
      let result: R;
      try {
        result = fn(m);
      } catch (err) {
        if (m.pid === process.pid || hasNamespaces(m)) throw err;
        this.gone.add(m.pid);
        continue;
      }
      if (m.pid === process.pid || hasNamespaces(m)) return result;
      this.gone.add(m.pid);
    }
    return undefined;
  }

  /**
   * Run `op` with a thread inside the namespace (ThreadNamespaces.within). Where the kernel refuses
   * (EPERM) and the namespace belongs to a user namespace of the tree that is not the dumper's own
   * — a rootless container an unprivileged dumper owns — a helper joins that user namespace first
   * and reads the same files from inside. A netlink socket cannot come back from a helper.
   */
  within<O extends ThreadOp>(type: SwitchableType, node: NsNode, op: O): ThreadOpResult<O> {
    try {
      return this.threads.within(type, node.fd, node.inode, op);
    } catch (err) {
      const owner = node.owner ? this.graph.nodes.get(node.owner) : undefined;
      if (!isErrno(err, 'EPERM') || op.kind === 'routeSocket' || !owner || this.scopeKeys.has(owner.key)) throw err;
      const paths = op.kind === 'uname' ? ['/proc/sys/kernel/hostname', '/proc/sys/kernel/domainname'] : op.kind === 'files' ? (op.otherProcess ?? op.paths) : [...op.paths];
      let texts: (Buffer | null)[];
      try {
        texts = readFilesInsideBytes([{ type: 'user', path: this.fdPath(owner) }, { type, path: this.fdPath(node) }], paths);
      } catch (helperErr) {
        if (!(helperErr instanceof HelperError)) throw helperErr;
        const e = err as SyscallError;
        throw new SyscallError(e.syscall, e.errno, `${e.path}; through its user namespace: ${helperErr.message}`);
      }
      // /proc/sys/kernel/hostname is the bytes and a line feed.
      const line = (b: Buffer | null | undefined) => (!b ? Buffer.alloc(0) : b.at(-1) === 0x0a ? b.subarray(0, -1) : b);
      if (op.kind === 'uname') return { nodename: new Uint8Array(line(texts[0])), domainname: new Uint8Array(line(texts[1])) } as ThreadOpResult<O>;
      return texts.map((b) => (b === null ? null : b.toString('utf8'))) as ThreadOpResult<O>;
    }
  }

  /** A path a helper process can open to reach the namespace: our own fd through /proc. */
  fdPath(node: NsNode): string {
    return `/proc/${process.pid}/fd/${node.fd}`;
  }
}
