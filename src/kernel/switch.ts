// Why: reading a hostname, an ipc sysctl, a cgroup path or opening a netlink socket needs the
// READING THREAD inside the namespace. Node is multi-threaded, so setns moves only the calling
// thread; that is safe for uts/ipc/net/cgroup when the switch, the read and the switch back are
// one synchronous stretch on the main thread (kernel-notes). Never for user, mnt, time or pid.
import { fstatSync } from 'node:fs';
import { close, open, setns } from './ffi.js';
import { CLONE_FLAGS, type NsType } from '../model/species.js';

export type SwitchableType = 'uts' | 'ipc' | 'net' | 'cgroup';
const SWITCHABLE: readonly NsType[] = ['uts', 'ipc', 'net', 'cgroup'];

export class ThreadNamespaces {
  private readonly own = new Map<SwitchableType, number>();
  private readonly ownInode = new Map<SwitchableType, number>();

  /** Remember the main thread's own namespaces so every switch can come back. */
  constructor() {
    try {
      for (const t of SWITCHABLE as SwitchableType[]) {
        const fd = open(`/proc/thread-self/ns/${t}`);
        this.own.set(t, fd);
        this.ownInode.set(t, fstatSync(fd).ino);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Run `fn` synchronously with the main thread inside the namespace behind `fd`. `fn` must not
   * start asynchronous work: a libuv thread started now would stay in that namespace for good.
   */
  within<R>(type: SwitchableType, fd: number, inode: number, fn: () => R): R {
    if (!SWITCHABLE.includes(type)) throw new Error(`refusing to switch the main thread's ${type} namespace`);
    // Already there. Inside a container, setns into our own namespace may even be refused (it
    // needs CAP_SYS_ADMIN over its owner, which may be an ancestor user namespace).
    if (this.ownInode.get(type) === inode) return fn();
    const own = this.own.get(type)!;
    setns(fd, CLONE_FLAGS[type], `setns ${type}`);
    try {
      return fn();
    } finally {
      try {
        setns(own, CLONE_FLAGS[type], `setns back to own ${type}`);
      } catch (err) {
        // Carrying on in a foreign namespace would corrupt everything read later: stop here.
        process.stderr.write(`nsdump: cannot return to own ${type} namespace: ${(err as Error).message}\n`);
        process.exit(70);
      }
    }
  }

  close(): void {
    for (const fd of this.own.values()) close(fd);
    this.own.clear();
  }
}
