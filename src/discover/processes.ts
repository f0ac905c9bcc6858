// Why: stage one of a dump. Finds the root and every descendant and records per process the ten
// namespace links, the threads whose namespaces differ from their leader's, and every open fd that
// refers to a namespace. Each process is read through one open /proc/PID directory fd: lookups
// under it fail once that process is reaped, so a reused pid can never be read by mistake, and it
// costs a third of the syscalls of path lookups (the kernel's per-call cost dominates a dump).
import { close, listDirFd, nlinkAt, openAt, openDir, readFileAt, readlinkAt, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../kernel/ffi.js';
import { SyscallError, isErrno } from '../kernel/errors.js';
import { NS_LINKS, type NsLink, nsTypeFromLinkName, parseNsLink, type NsType } from '../model/species.js';
import { parseStat } from './procfs.js';
import { NoSuchProcessError, PermissionError, TreeChangedError } from './errors.js';

/** Inode of each link; null where the link does not exist yet (pid_for_children before a fork). */
export type LinkInodes = Record<NsLink, number | null>;

export interface NsFd {
  fd: number;
  type: NsType;
  inode: number;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** Open /proc/PID: every later read of this process goes through it. */
  dirfd: number;
  links: LinkInodes;
  threads: { tid: number; links: LinkInodes }[];
  nsFds: NsFd[];
}

const LINK_PATHS = NS_LINKS.map((l) => `ns/${l}`);

/** The ten links of a process or thread directory (dirfd), by inode. */
export function readLinksAt(dirfd: number, what: string): LinkInodes {
  const links = {} as LinkInodes;
  for (let i = 0; i < NS_LINKS.length; i++) {
    const link = NS_LINKS[i]!;
    try {
      const parsed = parseNsLink(readlinkAt(dirfd, LINK_PATHS[i]!, `${what}/${LINK_PATHS[i]}`));
      links[link] = parsed ? parsed[1] : null;
    } catch (err) {
      // pid_for_children has no target between unshare(CLONE_NEWPID) and the first fork.
      if (link === 'pid_for_children' && isErrno(err, 'ENOENT')) links[link] = null;
      else throw err;
    }
  }
  return links;
}

export function readLinks(dir: string): LinkInodes {
  const fd = openDir(dir);
  try {
    return readLinksAt(fd, dir);
  } finally {
    close(fd);
  }
}

function sameLinks(a: LinkInodes, b: LinkInodes): boolean {
  return NS_LINKS.every((l) => a[l] === b[l]);
}

function readNsFds(dirfd: number, pid: number): NsFd[] {
  const out: NsFd[] = [];
  const fdDir = openAt(dirfd, 'fd', O_RDONLY | O_CLOEXEC | O_DIRECTORY, `/proc/${pid}/fd`);
  try {
    for (const name of listDirFd(fdDir, `/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkAt(fdDir, name, `/proc/${pid}/fd/${name}`);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue; // closed while we looked
        throw err;
      }
      // nsfs fds read "type:[inode]"; files read as absolute paths, sockets as "socket:[n]".
      const parsed = parseNsLink(target);
      const type = parsed && nsTypeFromLinkName(parsed[0]);
      if (parsed && type) out.push({ fd: Number(name), type, inode: parsed[1] });
    }
  } finally {
    close(fdDir);
  }
  return out.sort((a, b) => a.fd - b.fd);
}

function failure(pid: number, isRoot: boolean, err: unknown): unknown {
  if (isErrno(err, 'ENOENT', 'ESRCH')) return isRoot ? new NoSuchProcessError(pid) : new TreeChangedError(`pid ${pid} exited`);
  if (isErrno(err, 'EACCES', 'EPERM')) {
    const path = err instanceof SyscallError && err.path ? err.path : `/proc/${pid}`;
    return new PermissionError(`pid ${pid}: ${path}: permission denied (needs root with CAP_SYS_PTRACE and CAP_SYS_ADMIN)`);
  }
  return err;
}

/** A zombie has dropped its namespaces (its links read ENOENT): it is not part of what is restored. */
function isZombie(dirfd: number): boolean {
  try {
    return parseStat(readFileAt(dirfd, 'stat')).state === 'Z';
  } catch {
    return false;
  }
}

/** Read one process; returns its children's pids, or null for a zombie. */
function readProcess(pid: number, ppid: number | null): { info: ProcInfo; children: number[] } | null {
  const where = `/proc/${pid}`;
  const isRoot = ppid === null;
  let dirfd: number;
  try {
    dirfd = openDir(where);
  } catch (err) {
    throw failure(pid, isRoot, err);
  }
  try {
    // Only the root's parent is not known from the walk; comm alone is cheaper than stat.
    let comm: string;
    if (ppid === null) {
      const st = parseStat(readFileAt(dirfd, 'stat', `${where}/stat`));
      comm = st.comm;
      ppid = st.ppid;
    } else {
      comm = readFileAt(dirfd, 'comm', `${where}/comm`).replace(/\n$/, '');
    }
    const links = readLinksAt(dirfd, where);
    const threads: ProcInfo['threads'] = [];
    const children: number[] = [];
    const addChildren = (text: string) => {
      for (const k of text.trim().split(' ')) if (k) children.push(Number(k));
    };
    // A task directory links to "." , ".." and one entry per thread.
    if (nlinkAt(dirfd, 'task', `${where}/task`) <= 3) {
      addChildren(readFileAt(dirfd, `task/${pid}/children`, `${where}/task/${pid}/children`));
    } else {
      const taskDir = openAt(dirfd, 'task', O_RDONLY | O_CLOEXEC | O_DIRECTORY, `${where}/task`);
      try {
        for (const t of listDirFd(taskDir, `${where}/task`)) {
          const tid = Number(t);
          try {
            // Each thread keeps its own children list.
            addChildren(readFileAt(taskDir, `${t}/children`, `${where}/task/${t}/children`));
            if (tid === pid) continue;
            const tfd = openAt(taskDir, t, O_RDONLY | O_CLOEXEC | O_DIRECTORY, `${where}/task/${t}`);
            try {
              const tl = readLinksAt(tfd, `${where}/task/${t}`);
              if (!sameLinks(tl, links)) threads.push({ tid, links: tl });
            } finally {
              close(tfd);
            }
          } catch (err) {
            if (isErrno(err, 'ENOENT', 'ESRCH')) continue; // a thread ended: not part of the tree any more
            throw err;
          }
        }
      } finally {
        close(taskDir);
      }
    }
    const nsFds = readNsFds(dirfd, pid);
    return { info: { pid, ppid, comm, dirfd, links, threads, nsFds }, children };
  } catch (err) {
    const zombie = isErrno(err, 'ENOENT') && isZombie(dirfd);
    close(dirfd);
    // A zombie child is left out; a zombie root has no namespaces to dump: it is gone.
    if (zombie && !isRoot) return null;
    throw failure(pid, isRoot, err);
  }
}

/**
 * The root and all its descendants, parents before children, siblings by pid. Pushes into `out`
 * as it goes so that the caller can close every dirfd (closeProcesses) also when this throws.
 */
export function walkTree(rootPid: number, out: ProcInfo[] = []): ProcInfo[] {
  const queue: [number, number | null][] = [[rootPid, null]];
  const seen = new Set<number>();
  for (let i = 0; i < queue.length; i++) {
    const [pid, ppid] = queue[i]!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const read = readProcess(pid, ppid);
    if (!read) continue;
    const { info, children } = read;
    out.push(info);
    children.sort((a, b) => a - b);
    for (const c of children) queue.push([c, pid]);
  }
  return out;
}

/** Still the same live process? Its /proc directory stops answering once it has exited. */
export function stillAlive(p: ProcInfo): boolean {
  try {
    readlinkAt(p.dirfd, 'ns/user');
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ESRCH')) return false;
    throw err;
  }
}

export function closeProcesses(procs: ProcInfo[]): void {
  for (const p of procs) close(p.dirfd);
}
