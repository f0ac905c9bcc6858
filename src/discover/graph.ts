// Why: stage two. Opens one fd per distinct namespace the tree refers to (through a process link,
// an open fd or a bind mount), identifies it, and follows NS_GET_USERNS and NS_GET_PARENT until
// the kernel answers EPERM: that answer is the edge of the dumper's scope, recorded, not a failure.
import { fstatSync } from 'node:fs';
import { close, openAt } from '../kernel/ffi.js';
import { isErrno } from '../kernel/errors.js';
import { nsGetId, nsGetNstype, nsGetParent, nsGetUserns } from '../kernel/nsfs.js';
import { NS_TYPES, type NsType, isHierarchical, typeOfFlag } from '../model/species.js';
import { TreeChangedError } from './errors.js';

/** Dynamic nsfs inodes start at 0xF0000000; the initial namespaces have fixed inodes below it. */
export const PROC_DYNAMIC_FIRST = 0xf0000000;

export interface NsNode {
  key: string;
  type: NsType;
  inode: number;
  device: number;
  nsId: string | null;
  /** Open for the whole dump: it keeps the namespace (and so its inode) alive while we read it. */
  fd: number;
  owner: string | null;
  parent: string | null;
  ownerBeyondScope: boolean;
  parentBeyondScope: boolean;
  initial: boolean;
}

export const nodeKey = (type: NsType, inode: number) => `${type}:${inode}`;

export class NsGraph {
  readonly nodes = new Map<string, NsNode>();

  constructor(private readonly haveNsId: boolean) {}

  /**
   * Register the namespace behind `name` under the directory `dirfd` (a process's pinned /proc/PID,
   * so that a pid reused meanwhile is never opened; the link is expected to be `type:[inode]`); a
   * no-op when it is known. A different inode than expected means the process moved between
   * readlink and open. `path` names it in messages.
   */
  addAt(dirfd: number, name: string, path: string, type: NsType | null, inode: number): NsNode {
    // An nsfs inode names one namespace of one type at a time: an unknown type can be looked up.
    const known = type ? this.nodes.get(nodeKey(type, inode)) : NS_TYPES.map((t) => this.nodes.get(nodeKey(t, inode))).find(Boolean);
    if (known) return known;
    // ENOENT/ESRCH here: the process (or the fd) is gone; the caller decides what that loses.
    const fd = openAt(dirfd, name, undefined, path);
    const node = this.adopt(fd, path);
    if ((type && node.type !== type) || node.inode !== inode) {
      throw new TreeChangedError(`${path} changed from ${type ?? 'nsfs'}:[${inode}] to ${node.type}:[${node.inode}]`);
    }
    return node;
  }

  /** Take ownership of an nsfs fd: keep it if the namespace is new, close it if already known. */
  private adopt(fd: number, what: string): NsNode {
    let st;
    let type: NsType | undefined;
    try {
      st = fstatSync(fd);
      type = typeOfFlag(nsGetNstype(fd, what));
    } catch (err) {
      close(fd);
      throw err;
    }
    if (!type) {
      close(fd);
      throw new Error(`${what}: unknown namespace type`);
    }
    const key = nodeKey(type, st.ino);
    const known = this.nodes.get(key);
    if (known) {
      close(fd);
      return known;
    }
    const node: NsNode = {
      key,
      type,
      inode: st.ino,
      device: st.dev,
      nsId: this.haveNsId ? nsGetId(fd, what) : null,
      fd,
      owner: null,
      parent: null,
      ownerBeyondScope: false,
      parentBeyondScope: false,
      initial: st.ino < PROC_DYNAMIC_FIRST,
    };
    this.nodes.set(key, node);
    this.relate(node, what);
    return node;
  }

  /** Follow the owner (and for pid/user the parent) edges; recursion ends at EPERM or a known node. */
  private relate(node: NsNode, what: string): void {
    const follow = (ioctl: (fd: number, what?: string) => number, label: string): NsNode | 'edge' => {
      let fd: number;
      try {
        fd = ioctl(node.fd, `${what} (${label})`);
      } catch (err) {
        // EPERM: the answer lies outside the caller's user or pid namespace, or node is initial.
        if (isErrno(err, 'EPERM')) return 'edge';
        throw err;
      }
      return this.adopt(fd, `${node.key} ${label}`);
    };
    const owner = follow(nsGetUserns, 'owner');
    if (owner === 'edge') node.ownerBeyondScope = true;
    else node.owner = owner.key;
    if (node.type === 'user') {
      // A user namespace's owner is its parent: NS_GET_USERNS and NS_GET_PARENT agree.
      node.parent = node.owner;
      node.parentBeyondScope = node.ownerBeyondScope;
    } else if (isHierarchical(node.type)) {
      const parent = follow(nsGetParent, 'parent');
      if (parent === 'edge') node.parentBeyondScope = true;
      else node.parent = parent.key;
    }
  }

  /** Depth below the outermost ancestor the dumper can see (0 for the scope's own or an initial one). */
  level(node: NsNode): number {
    let n = 0;
    for (let p = node.parent; p; p = this.nodes.get(p)!.parent) n++;
    return n;
  }

  /** Forget (and unpin) every namespace not in `keep`. */
  retain(keep: Set<string>): void {
    for (const [key, n] of this.nodes) {
      if (keep.has(key)) continue;
      close(n.fd);
      this.nodes.delete(key);
    }
  }

  close(): void {
    for (const n of this.nodes.values()) close(n.fd);
    this.nodes.clear();
  }
}
