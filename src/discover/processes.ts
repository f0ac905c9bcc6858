// Why: stage one of a dump. Finds the root and every descendant and records per process the ten
// namespace links, the threads whose namespaces differ from their leader's, and every open fd that
// refers to a namespace. Each process is read through one open /proc/PID directory fd: lookups
// under it fail once that process is reaped, so a reused pid can never be read by mistake, and it
// costs a third of the syscalls of path lookups (the kernel's per-call cost dominates a dump).
import { close, listDirFd, nlinkAt, openAt, openDir, readFileAt, readFileBytesAt, readlinkAt, statxDevIno, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../kernel/ffi.js';
import { SyscallError, isErrno } from '../kernel/errors.js';
import { NS_LINKS, type NsLink, nsTypeFromLinkName, parseNsLink, type NsType } from '../model/species.js';
import { kernelText, type KernelText } from '../model/kernel-text.js';
import { PF_KTHREAD, parseStat } from './procfs.js';
import { NoSuchProcessError, PermissionError, TreeChangedError } from './errors.js';

/** Inode of each link; null where the link does not exist yet (pid_for_children before a fork). */
export type LinkInodes = Record<NsLink, number | null>;

export interface NsFd {
  fd: number;
  /** null: opened through an nsfs bind mount path, whose type only the namespace itself can tell. */
  type: NsType | null;
  inode: number;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: KernelText;
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

function sameLinks(a: LinkInodes, b: LinkInodes): boolean {
  return NS_LINKS.every((l) => a[l] === b[l]);
}

/**
 * The fds that refer to a namespace. An nsfs fd opened through /proc/PID/ns reads back as
 * "type:[inode]", but one opened through a bind mount (ip netns add, exec 3</run/netns/NAME)
 * reads back as that path: for a path, the open file's own device tells (nsfs has one).
 */
function readNsFds(dirfd: number, pid: number, nsfsDev: string): NsFd[] {
  const out: NsFd[] = [];
  const fdDir = openAt(dirfd, 'fd', O_RDONLY | O_CLOEXEC | O_DIRECTORY, `/proc/${pid}/fd`);
  try {
    for (const name of listDirFd(fdDir, `/proc/${pid}/fd`)) {
      try {
        const target = readlinkAt(fdDir, name, `/proc/${pid}/fd/${name}`);
        // Sockets, pipes and anonymous inodes read "kind:[n]" or "anon_inode:…", never a path.
        const parsed = parseNsLink(target);
        const type = parsed && nsTypeFromLinkName(parsed[0]);
        if (parsed && type) out.push({ fd: Number(name), type, inode: parsed[1] });
        else if (target.startsWith('/')) {
          const st = statxDevIno(fdDir, name, `/proc/${pid}/fd/${name}`);
          if (st.dev === nsfsDev) out.push({ fd: Number(name), type: null, inode: st.ino });
        }
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue; // closed while we looked
        throw err;
      }
    }
  } finally {
    close(fdDir);
  }
  return out.sort((a, b) => a.fd - b.fd);
}

function failure(pid: number, isRoot: boolean, err: unknown): unknown {
  if (isRoot && isErrno(err, 'ENOENT', 'ESRCH')) return new NoSuchProcessError(pid);
  if (isErrno(err, 'ENOENT', 'ESRCH')) return new TreeChangedError(`pid ${pid} exited`);
  if (isErrno(err, 'EACCES', 'EPERM')) {
    const path = err instanceof SyscallError && err.path ? err.path : `/proc/${pid}`;
    const why = process.geteuid?.() === 0 ? 'the kernel will not show it, even to root' : "another user's process: reading it needs root, CAP_SYS_PTRACE";
    return new PermissionError(`pid ${pid}: ${path}: permission denied (${why})`);
  }
  return err;
}

/** A zombie has dropped its namespaces (its links read ENOENT): a zombie root is no tree to dump. */
function isZombie(dirfd: number): boolean {
  try {
    return parseStat(readFileAt(dirfd, 'stat')).state === 'Z';
  } catch {
    return false;
  }
}

/** What a walk could not read: processes the kernel would not show (EACCES), by pid. */
export interface WalkGaps {
  unreadable: number[];
}

/**
 * Read one process; returns its children's pids, or null for a process left out: a zombie, one
 * that exited while it was read (it no longer exists; the root's exit is an error), or — not the
 * root — one the kernel will not show (counted in `gaps`).
 */
function readProcess(pid: number, ppid: number | null, isRoot: boolean, nsfsDev: string, gaps: WalkGaps): { info: ProcInfo; children: number[] } | null {
  const where = `/proc/${pid}`;
  let dirfd: number;
  try {
    dirfd = openDir(where);
  } catch (err) {
    if (!isRoot && isErrno(err, 'ENOENT', 'ESRCH')) return null;
    if (!isRoot && isErrno(err, 'EACCES', 'EPERM')) {
      gaps.unreadable.push(pid);
      return null;
    }
    throw failure(pid, isRoot, err);
  }
  try {
    // Only the root's parent is not known from the walk; comm alone is cheaper than stat.
    let comm: KernelText;
    if (ppid === null) {
      // latin1: one character per byte, so comm's bytes come back exactly whatever they are.
      const st = parseStat(readFileBytesAt(dirfd, 'stat', `${where}/stat`).toString('latin1'));
      if (!isRoot && st.flags & PF_KTHREAD) {
        // Kernel threads live in the initial namespaces and have no user-space side: lsns-like
        // listings count them, an image of namespaces gains nothing from them.
        close(dirfd);
        return null;
      }
      comm = kernelText(Buffer.from(st.comm, 'latin1'));
      ppid = st.ppid;
    } else {
      const bytes = readFileBytesAt(dirfd, 'comm', `${where}/comm`);
      comm = kernelText(bytes.at(-1) === 0x0a ? bytes.subarray(0, -1) : bytes);
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
    const nsFds = readNsFds(dirfd, pid, nsfsDev);
    return { info: { pid, ppid, comm, dirfd, links, threads, nsFds }, children };
  } catch (err) {
    const zombie = isRoot && isErrno(err, 'ENOENT') && isZombie(dirfd);
    close(dirfd);
    // Gone (or a zombie, whose links read ENOENT): it no longer has namespaces to dump.
    if (!isRoot && isErrno(err, 'ENOENT', 'ESRCH')) return null;
    if (zombie) throw new NoSuchProcessError(pid);
    if (isRoot && isErrno(err, 'ENOENT', 'ESRCH')) throw new TreeChangedError(`pid ${pid} (the root) exited`);
    if (!isRoot && isErrno(err, 'EACCES', 'EPERM')) {
      gaps.unreadable.push(pid);
      return null;
    }
    throw failure(pid, isRoot, err);
  }
}

/** The device number of nsfs, from one of our own namespace files. */
export function nsfsDevice(): string {
  return statxDevIno(-100, '/proc/self/ns/user').dev;
}

/**
 * The root and all its descendants, parents before children, siblings by pid. Pushes into `out`
 * as it goes so that the caller can close every dirfd (closeProcesses) also when this throws.
 * `pause` is awaited now and then, so that a signal can be noticed during a long walk.
 */
export async function walkTree(rootPid: number, out: ProcInfo[], gaps: WalkGaps, pause: () => Promise<void>): Promise<void> {
  const nsfsDev = nsfsDevice();
  const queue: [number, number | null][] = [[rootPid, null]];
  const seen = new Set<number>();
  for (let i = 0; i < queue.length; i++) {
    if (i % 256 === 255) await pause();
    const [pid, ppid] = queue[i]!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const read = readProcess(pid, ppid, i === 0, nsfsDev, gaps);
    if (!read) continue;
    const { info, children } = read;
    out.push(info);
    children.sort((a, b) => a - b);
    for (const c of children) queue.push([c, pid]);
  }
}

/** Every process of the dumper's pid namespace, by pid, as /proc lists them. */
export async function walkAll(out: ProcInfo[], gaps: WalkGaps, pause: () => Promise<void>): Promise<void> {
  const nsfsDev = nsfsDevice();
  const procDir = openDir('/proc');
  let pids: number[];
  try {
    pids = listDirFd(procDir, '/proc').filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  } finally {
    close(procDir);
  }
  for (let i = 0; i < pids.length; i++) {
    if (i % 256 === 255) await pause();
    const read = readProcess(pids[i]!, null, false, nsfsDev, gaps);
    if (read) out.push(read.info);
  }
}

/**
 * Still the same live process with its namespaces? Once reaped its /proc directory stops
 * answering; an exiting task or a zombie has already dropped its namespaces, and its uts link
 * reads ENOENT (the user link does not: it comes from the credentials, which a zombie keeps).
 */
export function stillAlive(p: ProcInfo): boolean {
  try {
    readlinkAt(p.dirfd, 'ns/uts');
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ESRCH')) return false;
    throw err;
  }
}

export function closeProcesses(procs: ProcInfo[]): void {
  for (const p of procs) close(p.dirfd);
}
