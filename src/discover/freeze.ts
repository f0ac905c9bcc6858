// Why: `dump --freeze`. A tree whose processes come and go faster than it can be read never holds
// still for a consistent image; CRIU stops it first. Where the tree has no cgroup of its own (this
// project's machines mount cgroups in the hybrid layout, every process at "0::/", so there is no
// per-tree v2 freezer) that means SIGSTOP, process by process, walking again until a walk finds
// nothing new and everything it stopped is seen stopped. Signals go through pidfds, so a pid
// reused meanwhile is never touched; exactly what nsdump stopped is resumed — never what was
// already stopped — on success, on failure, on SIGINT/SIGTERM, and at process exit.
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY, close, listDirFd, openAt, openDir, pidfdOpen, pidfdSendSignal, readFileAt } from '../kernel/ffi.js';
import { isErrno } from '../kernel/errors.js';
import { FreezeError } from './errors.js';
import { parseStat } from './procfs.js';

const SIGCONT = 18;
const SIGSTOP = 19;
/** Rounds of walk-and-stop before giving up: each round stops every process the last one found. */
const MAX_ROUNDS = 100;
/** How long stopped processes may take to show as stopped (one in uninterruptible sleep waits). */
const STOP_WAIT_MS = 10_000;

/** State letter and parent of a process (by its pinned /proc directory), or null once it is gone. */
function statOf(dirfd: number): { state: string; ppid: number } | null {
  try {
    const st = parseStat(readFileAt(dirfd, 'stat'));
    return { state: st.state, ppid: st.ppid };
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ESRCH')) return null;
    throw err;
  }
}

/**
 * Every thread's children: a child belongs to the thread that forked it. Through the process's
 * pinned /proc/PID directory where nsdump holds one (a process it stopped), so that a pid reused
 * meanwhile is not read in its place; else by path (the children found are checked against their
 * parent before they are stopped).
 */
function childrenOf(pid: number, dirfd: number | undefined): number[] {
  let taskDir: number;
  try {
    taskDir = dirfd === undefined ? openDir(`/proc/${pid}/task`) : openAt(dirfd, 'task', O_RDONLY | O_CLOEXEC | O_DIRECTORY, `/proc/${pid}/task`);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ESRCH')) return [];
    throw err;
  }
  const out: number[] = [];
  try {
    for (const t of listDirFd(taskDir)) {
      try {
        for (const k of readFileAt(taskDir, `${t}/children`).trim().split(' ')) if (k) out.push(Number(k));
      } catch (err) {
        if (!isErrno(err, 'ENOENT', 'ESRCH')) throw err;
      }
    }
  } finally {
    close(taskDir);
  }
  return out;
}

const isStopped = (state: string) => state === 'T' || state === 't';

export class Freezer {
  /** pid → pidfd and /proc/PID dirfd of each process nsdump stopped (and so must resume). */
  private readonly mine = new Map<number, { pidfd: number; dirfd: number }>();
  /** Stopped by nsdump and not yet seen stopped. */
  private readonly pending = new Set<number>();
  /** Seen and not ours to stop: already stopped by someone else, pid 1 of our pid namespace. */
  private readonly notMine = new Set<number>();
  private readonly atExit = () => this.resume();

  constructor() {
    process.on('exit', this.atExit);
  }

  /** Processes nsdump stopped (for tests and the summary). */
  get count(): number {
    return this.mine.size;
  }

  /**
   * Stop the tree below `rootPid`: never the dumper (nor anything below it: its helpers) and never
   * pid 1 of its own pid namespace (which ignores SIGSTOP from inside: it would never show stopped).
   */
  async freeze(rootPid: number, pause: () => Promise<void>): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let fresh = 0;
      const queue: [number, number | null][] = [[rootPid, null]];
      const seen = new Set<number>();
      for (let i = 0; i < queue.length; i++) {
        const [pid, ppid] = queue[i]!;
        if (seen.has(pid) || pid === process.pid) continue;
        seen.add(pid);
        if (!this.mine.has(pid) && !this.notMine.has(pid)) {
          const r = this.stop(pid, ppid);
          if (r === 'gone') continue;
          if (r === 'stopped') fresh++;
        }
        for (const c of childrenOf(pid, this.mine.get(pid)?.dirfd)) queue.push([c, pid]);
      }
      await this.settle(pause);
      if (fresh === 0) return;
    }
    throw new FreezeError(`the tree below pid ${rootPid} kept growing through ${MAX_ROUNDS} rounds of SIGSTOP`);
  }

  private stop(pid: number, ppid: number | null): 'stopped' | 'skipped' | 'gone' {
    if (pid === 1) {
      this.notMine.add(pid);
      return 'skipped';
    }
    let pidfd: number;
    try {
      pidfd = pidfdOpen(pid);
    } catch (err) {
      if (isErrno(err, 'ESRCH')) return 'gone';
      throw err;
    }
    // pid_max may be small (32768 here) and a busy tree wraps it in minutes: pin the /proc
    // directory too, and prove with the pidfd (signal 0) that both are the same process.
    let dirfd: number | undefined;
    try {
      dirfd = openDir(`/proc/${pid}`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT', 'ESRCH')) throw err;
    }
    const drop = (r: 'skipped' | 'gone') => {
      close(pidfd);
      if (dirfd !== undefined) close(dirfd);
      return r;
    };
    if (dirfd === undefined || !pidfdSendSignal(pidfd, 0)) return drop('gone');
    // Still the process the walk saw (its parent's child), and running (one stopped by someone
    // else stays theirs)?
    const st = statOf(dirfd);
    if (!st || st.state === 'Z' || st.state === 'X' || (ppid !== null && st.ppid !== ppid)) return drop('gone');
    if (isStopped(st.state)) {
      this.notMine.add(pid);
      return drop('skipped');
    }
    if (!pidfdSendSignal(pidfd, SIGSTOP)) return drop('gone');
    this.mine.set(pid, { pidfd, dirfd });
    this.pending.add(pid);
    return 'stopped';
  }

  /** Wait until everything stopped shows as stopped (or has gone): only then can it not fork. */
  private async settle(pause: () => Promise<void>): Promise<void> {
    const end = Date.now() + STOP_WAIT_MS;
    while (this.pending.size) {
      for (const pid of [...this.pending]) {
        const st = statOf(this.mine.get(pid)!.dirfd);
        if (!st || isStopped(st.state) || st.state === 'Z' || st.state === 'X') this.pending.delete(pid);
      }
      if (!this.pending.size) return;
      if (Date.now() > end) throw new FreezeError(`pid ${[...this.pending][0]} did not stop within ${STOP_WAIT_MS / 1000} s`);
      await pause();
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** SIGCONT to exactly what nsdump stopped; safe to call more than once. */
  resume(): void {
    for (const { pidfd, dirfd } of this.mine.values()) {
      try {
        pidfdSendSignal(pidfd, SIGCONT);
      } finally {
        close(pidfd);
        close(dirfd);
      }
    }
    this.mine.clear();
    this.pending.clear();
    process.off('exit', this.atExit);
  }
}
