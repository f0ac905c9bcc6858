// Why: the reads that need the READING THREAD inside a uts/ipc/net/cgroup namespace, as data
// (not closures), so that either the main thread or a disposable worker thread (ns-thread.ts) can
// carry them out: a closure cannot cross into a worker.
import { AT_FDCWD, close, openDir, readFileAt, readSysctlAt, uname } from './ffi.js';
import { isErrno } from './errors.js';
import { AF_INET, AF_INET6, type Addr, type Link, type Route, type Rule, closeRouteSocket, dumpAddrs, dumpLinks, dumpRoutes, dumpRules, openRouteSocket } from './netlink.js';

export type ThreadOp =
  /** uname(2): nodename and domainname of the thread's uts namespace, as bytes. */
  | { kind: 'uname' }
  /** Whole files by absolute path; null where the file does not exist (ENOENT). */
  | { kind: 'files'; paths: string[] }
  /**
   * Whole files relative to a pinned /proc/PID directory fd (fds are shared by every thread);
   * null where the file does not exist (ENOENT: the process is gone). The reading thread's
   * namespaces count at open and read time (a cgroup path is printed for the reader).
   */
  | { kind: 'pinnedFiles'; files: { dirfd: number; name: string; what: string }[] }
  /** A NETLINK_ROUTE socket: it answers for the net namespace it was created in, from any thread. */
  | { kind: 'routeSocket' }
  /**
   * What rtnetlink shows of the thread's net namespace: links (unless `links` is false: they may
   * be asked for elsewhere), addresses, IPv4 and IPv6 rules and routes, through a socket opened
   * and closed here — as data, so that it can also come back from a helper process.
   */
  | { kind: 'netDump'; links: boolean }
  /**
   * /proc/sys files by absolute path, each relative to one fd on its directory and in one read
   * (see readSysctlAt); null where the file does not exist or cannot be read (EIO: an unset value).
   */
  | { kind: 'sysctls'; paths: readonly string[] };

export interface NetDump {
  links: Link[] | null;
  addrs: Addr[];
  rules: Rule[];
  routes: Route[];
}

export type ThreadOpResult<O extends ThreadOp> = O extends { kind: 'uname' }
  ? { nodename: Uint8Array; domainname: Uint8Array }
  : O extends { kind: 'files' } | { kind: 'pinnedFiles' } | { kind: 'sysctls' }
    ? (string | null)[]
    : O extends { kind: 'netDump' }
      ? NetDump
      : number;

/**
 * One directory fd per directory, opened by the reading thread (lookups below /proc/sys/net go by
 * its namespace), each file opened relative to it: a path walk through /proc/sys per file cost
 * ~1.5 times as much (149 net sysctls: 3.2 ms against 2.0 ms a namespace).
 */
function readSysctls(paths: readonly string[]): (string | null)[] {
  const dirs = new Map<string, number | null>();
  try {
    return paths.map((p) => {
      const cut = p.lastIndexOf('/');
      const dir = p.slice(0, cut);
      let fd = dirs.get(dir);
      if (fd === undefined) {
        try {
          fd = openDir(dir);
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
          fd = null; // IPv6 compiled out or disabled at boot, for instance
        }
        dirs.set(dir, fd);
      }
      if (fd === null) return null;
      try {
        return readSysctlAt(fd, p.slice(cut + 1), p);
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'EIO')) return null;
        throw err;
      }
    });
  } finally {
    for (const fd of dirs.values()) if (fd !== null) close(fd);
  }
}

function netDump(withLinks: boolean): NetDump {
  const sock = openRouteSocket();
  try {
    const families = [AF_INET, AF_INET6] as const;
    return {
      links: withLinks ? dumpLinks(sock) : null,
      addrs: dumpAddrs(sock),
      rules: families.flatMap((f) => dumpRules(sock, f)),
      routes: families.flatMap((f) => dumpRoutes(sock, f)),
    };
  } finally {
    closeRouteSocket(sock);
  }
}

export function runThreadOp<O extends ThreadOp>(op: O): ThreadOpResult<O> {
  switch (op.kind) {
    case 'uname': {
      const u = uname();
      return { nodename: new Uint8Array(u.nodename), domainname: new Uint8Array(u.domainname) } as ThreadOpResult<O>;
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
    case 'pinnedFiles':
      return op.files.map((f) => {
        try {
          return readFileAt(f.dirfd, f.name, f.what);
        } catch (err) {
          if (isErrno(err, 'ENOENT')) return null;
          throw err;
        }
      }) as ThreadOpResult<O>;
    case 'routeSocket':
      return openRouteSocket() as ThreadOpResult<O>;
    case 'sysctls':
      return readSysctls(op.paths) as ThreadOpResult<O>;
    case 'netDump':
      return netDump(op.links) as ThreadOpResult<O>;
  }
  throw new Error(`unknown thread op ${(op as { kind: string }).kind}`);
}
