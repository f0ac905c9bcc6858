// Why: the reads that need the READING THREAD inside a uts/ipc/net/cgroup namespace, as data
// (not closures), so that either the main thread or a disposable worker thread (ns-thread.ts) can
// carry them out: a closure cannot cross into a worker.
import { AT_FDCWD, readFileAt, uname } from './ffi.js';
import { isErrno } from './errors.js';
import { openRouteSocket } from './netlink.js';

export type ThreadOp =
  /** uname(2): nodename and domainname of the thread's uts namespace. */
  | { kind: 'uname' }
  /**
   * Whole files by absolute path; null where the file does not exist (ENOENT). `otherProcess`:
   * the same files as another process (a helper) must name them: /proc/self would be its own.
   */
  | { kind: 'files'; paths: string[]; otherProcess?: string[] }
  /** A NETLINK_ROUTE socket: it answers for the net namespace it was created in, from any thread. */
  | { kind: 'routeSocket' };

export type ThreadOpResult<O extends ThreadOp> = O extends { kind: 'uname' }
  ? { nodename: string; domainname: string }
  : O extends { kind: 'files' }
    ? (string | null)[]
    : number;

export function runThreadOp<O extends ThreadOp>(op: O): ThreadOpResult<O> {
  switch (op.kind) {
    case 'uname': {
      const u = uname();
      return { nodename: u.nodename, domainname: u.domainname } as ThreadOpResult<O>;
    }
    case 'files':
      return op.paths.map((p) => {
        try {
          return readFileAt(AT_FDCWD, p);
        } catch (err) {
          if (isErrno(err, 'ENOENT')) return null;
          throw err;
        }
      }) as ThreadOpResult<O>;
    case 'routeSocket':
      return openRouteSocket() as ThreadOpResult<O>;
  }
  throw new Error(`unknown thread op ${(op as { kind: string }).kind}`);
}
