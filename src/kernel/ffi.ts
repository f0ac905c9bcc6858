// Why: the one module that talks to libc through koffi. Everything above it sees small typed
// functions that either return a value or throw a SyscallError; errno is read right after each call
// because any later fs call may overwrite it.
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import { SyscallError } from './errors.js';

// koffi through its CommonJS entry: ~5 ms less start-up than its ES module entry on Node 20 (the
// same native addon either way), and every command that touches the kernel pays it.
const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;

const libc = koffi.load('libc.so.6');

const c = {
  open: libc.func('int open(const char *path, int flags)'),
  close: libc.func('int close(int fd)'),
  ioctlNone: libc.func('int ioctl(int fd, unsigned long req)'),
  ioctlPtr: libc.func('int ioctl(int fd, unsigned long req, void *arg)'),
  ioctlVal: libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  syscall2: libc.func('long syscall(long nr, long a, long b)'),
  syscall4: libc.func('long syscall(long nr, long a, long b, void *c, long d)'),
  flock: libc.func('int flock(int fd, int op)'),
  statx: libc.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)'),
  uname: libc.func('int uname(void *buf)'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  send: libc.func('long send(int fd, void *buf, unsigned long len, int flags)'),
  recv: libc.func('long recv(int fd, void *buf, unsigned long len, int flags)'),
  openat: libc.func('int openat(int dirfd, const char *path, int flags)'),
  read: libc.func('long read(int fd, void *buf, unsigned long n)'),
  readlinkat: libc.func('long readlinkat(int dirfd, const char *path, void *buf, unsigned long n)'),
  fstatat: libc.func('int fstatat(int dirfd, const char *path, void *st, int flags)'),
  getdents64: libc.func('long syscall(long nr, int fd, void *buf, unsigned long n)'),
  prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  renameat2: libc.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)'),
  mknod: libc.func('int mknod(const char *path, unsigned int mode, unsigned long dev)'),
  getrlimit: libc.func('int getrlimit(int resource, void *rlim)'),
  setrlimit: libc.func('int setrlimit(int resource, void *rlim)'),
  sethostname: libc.func('int sethostname(void *name, unsigned long len)'),
  setdomainname: libc.func('int setdomainname(void *name, unsigned long len)'),
  waitpid: libc.func('int waitpid(int pid, void *status, int options)'),
  kill: libc.func('int kill(int pid, int sig)'),
  poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
};
// getdents64 predates the unified syscall table: x86_64 and the generic table (aarch64) differ.
const SYS_getdents64 = process.arch === 'arm64' ? 61 : 217;

const SYS_pidfd_open = 434;
const SYS_pidfd_send_signal = 424;

const ESRCH = 3;
const EWOULDBLOCK = 11;

export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;
export const O_DIRECTORY = 0o200000;

// Scratch buffers for the *at calls below: a dump makes tens of thousands of them, all synchronous.
const linkBuf = Buffer.alloc(4096);
const readBuf = Buffer.alloc(64 * 1024);
const statBuf = Buffer.alloc(144);
const dentsBuf = Buffer.alloc(32 * 1024);
/** Largest linux_dirent64 record: 19-byte header + NAME_MAX + NUL, 8-aligned. */
const MAX_DIRENT = 280;

function check(ret: number | bigint, syscall: string, path?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(syscall, koffi.errno(), path);
  return n;
}

export function open(path: string, flags = O_RDONLY | O_CLOEXEC): number {
  return check(c.open(path, flags), 'open', path);
}

export function close(fd: number): void {
  // EINTR/EBADF on close leave nothing we could do differently; never throw from cleanup paths.
  c.close(fd);
}

export function ioctlNone(fd: number, req: number, what?: string): number {
  return check(c.ioctlNone(fd, req), 'ioctl', what);
}

export function ioctlPtr(fd: number, req: number, buf: Buffer, what?: string): number {
  return check(c.ioctlPtr(fd, req, buf), 'ioctl', what);
}

export function ioctlVal(fd: number, req: number, arg: number, what?: string): number {
  return check(c.ioctlVal(fd, req, arg), 'ioctl', what);
}

export function setns(fd: number, nstype: number, what?: string): void {
  check(c.setns(fd, nstype), 'setns', what);
}

export function pidfdOpen(pid: number): number {
  return check(c.syscall2(SYS_pidfd_open, pid, 0), 'pidfd_open', `pid ${pid}`);
}

/** pidfd_send_signal(2): signal the very process the pidfd was opened on; false once it is gone (ESRCH). */
export function pidfdSendSignal(pidfd: number, sig: number): boolean {
  const r = Number(c.syscall4(SYS_pidfd_send_signal, pidfd, sig, null, 0));
  if (r === 0) return true;
  const errno = koffi.errno();
  if (errno === ESRCH) return false;
  throw new SyscallError('pidfd_send_signal', errno);
}

/**
 * struct utsname: six 65-byte fields (sysname nodename release version machine domainname).
 * nodename and domainname are the bytes sethostname/setdomainname took, UTF-8 or not.
 */
export function uname(): { nodename: Buffer; release: string; domainname: Buffer } {
  const buf = Buffer.alloc(65 * 6);
  check(c.uname(buf), 'uname');
  const field = (i: number) => {
    const s = buf.subarray(i * 65, (i + 1) * 65);
    const end = s.indexOf(0);
    return s.subarray(0, end < 0 ? 65 : end);
  };
  return { nodename: field(1), release: field(2).toString('utf8'), domainname: field(5) };
}

export function socket(domain: number, type: number, protocol: number): number {
  return check(c.socket(domain, type, protocol), 'socket');
}

export function send(fd: number, buf: Buffer): number {
  return check(c.send(fd, buf, buf.length, 0), 'send');
}

export function recv(fd: number, buf: Buffer): number {
  return check(c.recv(fd, buf, buf.length, 0), 'recv');
}

export function openDir(path: string): number {
  return check(c.open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY), 'open', path);
}

export function openAt(dirfd: number, name: string, flags = O_RDONLY | O_CLOEXEC, what?: string): number {
  return check(c.openat(dirfd, name, flags), 'openat', what ?? name);
}

/**
 * A /proc/sys file under a directory fd, in one read(2) when its value fits the buffer: a sysctl
 * file hands out its whole value per call (it is formatted at once, not a seq_file), so the read
 * that would return 0 is skipped — a third of the calls of reading a sysctl.
 */
export function readSysctlAt(dirfd: number, name: string, what?: string): string {
  const fd = openAt(dirfd, name, O_RDONLY | O_CLOEXEC, what);
  try {
    const n = check(c.read(fd, readBuf, readBuf.length), 'read', what ?? name);
    let out = readBuf.toString('utf8', 0, n);
    if (n < readBuf.length) return out;
    for (let m; (m = check(c.read(fd, readBuf, readBuf.length), 'read', what ?? name)) > 0; ) out += readBuf.toString('utf8', 0, m);
    return out;
  } finally {
    c.close(fd);
  }
}

/**
 * Whole procfs file under a directory fd. Read until read(2) returns 0: seq_file files (children,
 * mountinfo, …) hand out at most one buffer of whole records per call, so a short read is NOT the
 * end (a children list of 1,430 pids stopped at 4,096 bytes when it was taken to be).
 */
export function readFileAt(dirfd: number, name: string, what?: string): string {
  const fd = openAt(dirfd, name, O_RDONLY | O_CLOEXEC, what);
  try {
    let out = '';
    for (;;) {
      const n = check(c.read(fd, readBuf, readBuf.length), 'read', what ?? name);
      if (n === 0) return out;
      out += readBuf.toString('utf8', 0, n);
    }
  } finally {
    c.close(fd);
  }
}

/** Whole procfs file as bytes (a comm is not always UTF-8), read like readFileAt. */
export function readFileBytesAt(dirfd: number, name: string, what?: string): Buffer {
  const fd = openAt(dirfd, name, O_RDONLY | O_CLOEXEC, what);
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const n = check(c.read(fd, readBuf, readBuf.length), 'read', what ?? name);
      if (n === 0) return Buffer.concat(parts);
      parts.push(Buffer.from(readBuf.subarray(0, n)));
    }
  } finally {
    c.close(fd);
  }
}

/** AT_FDCWD: readFileAt with an absolute path. */
export const AT_FDCWD = -100;

export function readlinkAt(dirfd: number, name: string, what?: string): string {
  const n = check(c.readlinkat(dirfd, name, linkBuf, linkBuf.length), 'readlink', what ?? name);
  return linkBuf.toString('utf8', 0, n);
}

/** st_nlink of a path under dirfd: x86_64 has a u64 at offset 16, the generic (aarch64) layout a u32 at 20. */
export function nlinkAt(dirfd: number, name: string, what?: string): number {
  check(c.fstatat(dirfd, name, statBuf, 0), 'stat', what ?? name);
  return process.arch === 'x64' ? Number(statBuf.readBigUInt64LE(16)) : statBuf.readUInt32LE(20);
}

/** Entry names of an open directory, "." and ".." left out. */
export function listDirFd(dirfd: number, what?: string): string[] {
  const names: string[] = [];
  for (;;) {
    const n = check(c.getdents64(SYS_getdents64, dirfd, dentsBuf, dentsBuf.length), 'getdents64', what);
    for (let off = 0; off < n; ) {
      const reclen = dentsBuf.readUInt16LE(off + 16);
      const end = dentsBuf.indexOf(0, off + 19);
      const name = dentsBuf.toString('utf8', off + 19, end);
      if (name !== '.' && name !== '..') names.push(name);
      off += reclen;
    }
    // The kernel stops filling only when the next record does not fit: room left means the end.
    if (n === 0 || dentsBuf.length - n >= MAX_DIRENT) return names;
  }
}

const RENAME_NOREPLACE = 1;

/** rename(2) that fails with EEXIST instead of replacing an existing (even empty) directory. */
export function renameNoReplace(from: string, to: string): void {
  check(c.renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE), 'rename', to);
}

const PR_SET_CHILD_SUBREAPER = 36;

/** Orphaned descendants are re-parented to this process instead of the pid namespace's init. */
export function becomeSubreaper(): void {
  check(c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 'prctl(PR_SET_CHILD_SUBREAPER)');
}

const S_IFIFO = 0o010000;

/** A named pipe (mkfifo(3) is mknod with S_IFIFO). */
export function mkfifo(path: string, mode: number): void {
  check(c.mknod(path, S_IFIFO | mode, 0), 'mkfifo', path);
}

const RLIMIT_NOFILE = 7;

/** Raise the soft limit on open files to the hard limit; returns the new soft limit. */
export function raiseNofileLimit(): number {
  const buf = Buffer.alloc(16);
  check(c.getrlimit(RLIMIT_NOFILE, buf), 'getrlimit');
  buf.writeBigUInt64LE(buf.readBigUInt64LE(8), 0);
  check(c.setrlimit(RLIMIT_NOFILE, buf), 'setrlimit');
  return Number(buf.readBigUInt64LE(0));
}

/** sethostname(2)/setdomainname(2) of the CALLING THREAD's uts namespace, raw bytes. */
export function setUtsName(which: 'hostname' | 'domainname', name: Buffer): void {
  const fn = which === 'hostname' ? c.sethostname : c.setdomainname;
  check(fn(name, name.length), which === 'hostname' ? 'sethostname' : 'setdomainname');
}

const WNOHANG = 1;

/**
 * Reap `pid` if it is a zombie child of ours; false when it is still running. ECHILD (not our child,
 * or already reaped) also answers true: there is nothing left for us to reap.
 */
export function reapIfExited(pid: number): boolean {
  return Number(c.waitpid(pid, null, WNOHANG)) !== 0;
}

/** kill(2); false when the process is gone (ESRCH). */
export function sendSignal(pid: number, sig: number): boolean {
  return Number(c.kill(pid, sig)) === 0;
}

const POLLIN = 1;

/** struct pollfd[] asking for POLLIN on each fd: {int fd; short events; short revents}. */
function pollFds(fds: number[]): Buffer {
  const buf = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, i * 8);
    buf.writeInt16LE(POLLIN, i * 8 + 4);
  });
  return buf;
}

/**
 * Wait, on a libuv worker thread (koffi async), until every fd in `fds` is readable — for pidfds:
 * until every process has exited. No polling loop on the main thread.
 */
export function waitAllReadable(fds: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const pending = new Set(fds);
    const round = () => {
      if (pending.size === 0) return resolve();
      const list = [...pending];
      const buf = pollFds(list);
      c.poll.async(buf, list.length, -1, (err: unknown, n: number) => {
        if (err) return reject(err);
        if (n < 0) return round();
        list.forEach((fd, i) => {
          if (buf.readInt16LE(i * 8 + 6) !== 0) pending.delete(fd);
        });
        round();
      });
    };
    round();
  });
}

/** Index of the first fd in `fds` to become readable (pidfds: the first process to exit); one worker thread. */
export function waitAnyReadable(fds: number[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const buf = pollFds(fds);
    const round = () =>
      c.poll.async(buf, fds.length, -1, (err: unknown, n: number) => {
        if (err) return reject(err);
        const i = fds.findIndex((_fd, k) => buf.readInt16LE(k * 8 + 6) !== 0);
        if (n <= 0 || i < 0) return round();
        resolve(i);
      });
    round();
  });
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_PRIVATE = 1 << 18;
const MNT_DETACH = 2;

/** Bind-mount `source` (e.g. /proc/self/fd/N of an nsfs fd) onto `target`. */
export function bindMount(source: string, target: string): void {
  check(c.mount(source, target, null, MS_BIND, null), 'mount', target);
}

/** Make `dir` a mount of its own with private propagation (nsfs binds fail on shared mounts). */
export function makePrivateMount(dir: string): void {
  check(c.mount(dir, dir, null, MS_BIND | MS_REC, null), 'mount', dir);
  check(c.mount(null, dir, null, MS_PRIVATE | MS_REC, null), 'mount', dir);
}

export function unmount(target: string): void {
  check(c.umount2(target, MNT_DETACH), 'umount', target);
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2); with LOCK_NB, false when another open file description holds a conflicting lock. */
export function flock(fd: number, op: number, what?: string): boolean {
  if (Number(c.flock(fd, op)) === 0) return true;
  const errno = koffi.errno();
  if (errno === EWOULDBLOCK && op & LOCK_NB) return false;
  throw new SyscallError('flock', errno, what);
}

const AT_STATX_DONT_SYNC = 0x4000;
const STATX_INO = 0x100;
const statxBuf = Buffer.alloc(256);

/**
 * Device and inode of what `name` under `dirfd` refers to — for /proc/PID/fd/N, the open file
 * itself (the magic link is followed without a path lookup). AT_STATX_DONT_SYNC: network and FUSE
 * file systems answer from their cache instead of asking a server that may hang.
 */
export function statxDevIno(dirfd: number, name: string, what?: string): { dev: string; ino: number } {
  check(c.statx(dirfd, name, AT_STATX_DONT_SYNC, STATX_INO, statxBuf), 'statx', what ?? name);
  // struct statx: stx_ino at 32 (u64), stx_dev_major at 136, stx_dev_minor at 140: the same on every architecture.
  return { dev: `${statxBuf.readUInt32LE(136)}:${statxBuf.readUInt32LE(140)}`, ino: Number(statxBuf.readBigUInt64LE(32)) };
}
