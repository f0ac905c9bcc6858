// Why: reading a hostname, an ipc sysctl, a cgroup path or opening a netlink socket needs the
// READING THREAD inside the namespace. Node is multi-threaded, so setns moves only the calling
// thread. The main thread switches only where the kernel has shown, before it leaves, that it may
// come back: setns into the namespace one is already in runs the same permission check as the way
// back (CAP_SYS_ADMIN over the namespace's owner) and changes nothing. Where it may not (inside a
// container that shares the host's uts or ipc namespace), a disposable worker thread enters the
// namespace instead and is thrown away after the dump. Never for user, mnt, time or pid.
import { fstatSync } from 'node:fs';
import { close, open, setns } from './ffi.js';
import { isErrno } from './errors.js';
import { NsThread } from './ns-thread.js';
import { runThreadOp, type ThreadOp, type ThreadOpResult } from './thread-ops.js';
import { CLONE_FLAGS } from '../model/species.js';

export type SwitchableType = 'uts' | 'ipc' | 'net' | 'cgroup';
const SWITCHABLE: readonly SwitchableType[] = ['uts', 'ipc', 'net', 'cgroup'];

export class ThreadNamespaces {
  private readonly own = new Map<SwitchableType, number>();
  private readonly ownInode = new Map<SwitchableType, number>();
  /** Types whose own namespace the main thread may re-enter (probed once, before any switch). */
  private readonly canReturn = new Set<SwitchableType>();
  private worker: NsThread | undefined;

  /** Remember the main thread's own namespaces, and which of them it could come back to. */
  constructor() {
    try {
      for (const t of SWITCHABLE) {
        const fd = open(`/proc/thread-self/ns/${t}`);
        this.own.set(t, fd);
        this.ownInode.set(t, fstatSync(fd).ino);
        try {
          setns(fd, CLONE_FLAGS[t], `setns own ${t}`);
          this.canReturn.add(t);
        } catch (err) {
          if (!isErrno(err, 'EPERM')) throw err;
        }
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Whether the main thread itself would switch for this type (false: the worker thread does). */
  switchesInProcess(type: SwitchableType): boolean {
    return this.canReturn.has(type);
  }

  /**
   * Run `op` with a thread inside the namespace behind `fd`: the main thread when it is already
   * there or provably can come back, else the disposable worker. Throws the kernel's refusal
   * (EPERM: no CAP_SYS_ADMIN over the namespace's owner) without having changed anything.
   */
  within<O extends ThreadOp>(type: SwitchableType, fd: number, inode: number, op: O): ThreadOpResult<O> {
    if (!SWITCHABLE.includes(type)) throw new Error(`refusing to switch a thread's ${type} namespace`);
    // Already there: no switch at all.
    if (this.ownInode.get(type) === inode) return runThreadOp(op);
    if (!this.canReturn.has(type)) {
      this.worker ??= new NsThread();
      return this.worker.run(fd, CLONE_FLAGS[type], `setns ${type}`, op) as ThreadOpResult<O>;
    }
    const own = this.own.get(type)!;
    setns(fd, CLONE_FLAGS[type], `setns ${type}`);
    try {
      return runThreadOp(op);
    } finally {
      try {
        setns(own, CLONE_FLAGS[type], `setns back to own ${type}`);
      } catch (err) {
        // The probe said this cannot happen; carrying on in a foreign namespace would corrupt
        // everything read later, so stop here rather than write a wrong image.
        process.stderr.write(`nsdump: cannot return to own ${type} namespace: ${(err as Error).message}\n`);
        process.exit(70);
      }
    }
  }

  /** Close our fds and end the worker thread (its namespaces go with it). */
  async close(): Promise<void> {
    for (const fd of this.own.values()) close(fd);
    this.own.clear();
    const w = this.worker;
    this.worker = undefined;
    await w?.end();
  }
}
