// Why: `nsdump caps --live` answers from the running system, not an image: a process's
// credentials from /proc/PID/status and, through nsfs ioctls, the user namespaces between it and
// a target namespace, with their creators' uids. Only what the capability rule needs is read.
import { fstatSync, readFileSync, readdirSync } from 'node:fs';
import { close, open } from '../kernel/ffi.js';
import { SyscallError } from '../kernel/errors.js';
import { nsGetNstype, nsGetOwnerUid, nsGetParent, nsGetUserns } from '../kernel/nsfs.js';
import { parseStatus, type Credentials, type NsKind, type UserNs } from '../model/caps.js';
import { NS_TYPES, typeOfFlag } from '../model/species.js';

/** Inode of the initial user namespace on 6.18 (kernel-notes: fixed inodes 0xEFFFFFF8..FF). */
const INITIAL_USER_INODE = 0xeffffffd;

export class LiveTargetError extends Error {
  override readonly name = 'LiveTargetError';
}

/** The user namespaces met so far, keyed by nsfs identity, numbered in the order met. */
export class LiveUsers {
  readonly table: UserNs[] = [];
  private readonly byKey = new Map<string, number>();
  /** Uids read as the overflow uid from outside the initial user namespace may be unmapped ones: treated as unknown. */
  private readonly overflow: number | null;

  constructor() {
    const self = fstatIno('/proc/self/ns/user');
    this.overflow = self === INITIAL_USER_INODE ? null : Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim());
  }

  uid(v: number): number | null {
    return v === this.overflow ? null : v;
  }

  /** Add the user namespace `fd` and its ancestors up to where the kernel says EPERM; returns its id. Closes nothing it did not open. */
  add(fd: number): number {
    const st = fstatSync(fd, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const id = this.table.length + 1;
    this.byKey.set(key, id);
    const entry: UserNs = { id, parent: null, ownerUid: this.uid(nsGetOwnerUid(fd)), name: `user:[${st.ino}]` };
    this.table.push(entry);
    let parentFd = -1;
    try {
      parentFd = nsGetParent(fd);
    } catch (err) {
      // EPERM: the parent lies beyond the reader's scope (or this is the initial namespace).
      if (!(err instanceof SyscallError && err.code === 'EPERM')) throw err;
    }
    if (parentFd >= 0) {
      try {
        entry.parent = this.add(parentFd);
      } finally {
        close(parentFd);
      }
      const up = this.table[entry.parent - 1]!.level;
      if (up !== undefined) entry.level = up + 1;
    } else if (st.ino === BigInt(INITIAL_USER_INODE)) {
      entry.level = 0;
    } else {
      // EPERM below the initial namespace: the reader sits inside a user namespace and this is its
      // own or an ancestor's edge; what lies above is hidden (and so are levels).
      entry.parentHidden = true;
    }
    return id;
  }
}

function fstatIno(path: string): number {
  const fd = open(path);
  try {
    return Number(fstatSync(fd).ino);
  } finally {
    close(fd);
  }
}

export interface LiveTarget {
  type: NsKind;
  /** "uts:[4026532301]". */
  name: string;
  /** The user namespace whose capabilities count: its owner, or itself for a user namespace. */
  userNs: number;
  inode: number;
}

/** Y as "/proc/PID/ns/TYPE" (any nsfs path) or "TYPE:PID". */
export function resolveTarget(users: LiveUsers, spec: string): LiveTarget {
  const m = /^([a-z_]+):(\d+)$/.exec(spec);
  let path = spec;
  if (m) {
    if (!(NS_TYPES as readonly string[]).includes(m[1]!)) throw new LiveTargetError(`--ns ${spec}: ${m[1]} is not a namespace type (${NS_TYPES.join(', ')})`);
    path = `/proc/${m[2]}/ns/${m[1]}`;
  }
  let fd: number;
  try {
    fd = open(path);
  } catch (err) {
    if (err instanceof SyscallError && err.code === 'ENOENT') throw new LiveTargetError(`--ns ${spec}: ${path}: no such namespace file (is the process gone?)`);
    throw err;
  }
  try {
    let type: NsKind | undefined;
    try {
      type = typeOfFlag(nsGetNstype(fd));
    } catch (err) {
      if (err instanceof SyscallError && err.code === 'ENOTTY') throw new LiveTargetError(`--ns ${spec}: ${path} is not a namespace file`);
      throw err;
    }
    if (!type) throw new LiveTargetError(`--ns ${spec}: unknown namespace type`);
    const inode = Number(fstatSync(fd).ino);
    if (type === 'user') return { type, name: `user:[${inode}]`, userNs: users.add(fd), inode };
    const owner = nsGetUserns(fd);
    try {
      return { type, name: `${type}:[${inode}]`, userNs: users.add(owner), inode };
    } finally {
      close(owner);
    }
  } finally {
    close(fd);
  }
}

/** The credentials of a live process now. Throws SyscallError/ENOENT-style errors when it is gone. */
export function liveCredentials(users: LiveUsers, pid: number): Credentials {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const fd = open(`/proc/${pid}/ns/user`);
  let userNs: number;
  try {
    userNs = users.add(fd);
  } finally {
    close(fd);
  }
  const c = parseStatus(status);
  return { ...c, uid: c.uid === null ? null : users.uid(c.uid), euid: c.euid === null ? null : users.uid(c.euid), pid, userNs };
}

/** Is `pid` in the namespace `target` (same inode on nsfs)? */
export function isMember(pid: number, target: LiveTarget): boolean {
  try {
    return fstatIno(`/proc/${pid}/ns/${target.type}`) === target.inode;
  } catch {
    return false;
  }
}

/** Pids of every process now, for `caps --live --ns Y` without --pid. */
export function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b);
}
