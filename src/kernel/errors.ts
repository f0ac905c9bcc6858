// Why: every failed system call surfaces as one error type that names the call, the errno and the
// path, so the CLI can print `nsdump: <what>: <why>` and pick an exit code without parsing text.
import { constants } from 'node:os';

const names = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!names.has(num)) names.set(num, name);
// Node's table lacks EUSERS (87), which setns(time) returns in a multi-threaded process.
names.set(87, 'EUSERS');

const messages: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
  ENOTTY: 'not supported by this kernel or file',
  ENOSYS: 'not implemented by this kernel',
  EBADF: 'bad file descriptor',
  EUSERS: 'not possible in a multi-threaded process',
  ENOSPC: 'namespace limit reached',
  EMFILE: 'too many open files',
};

export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly path: string | undefined;

  constructor(syscall: string, errno: number, path?: string) {
    const code = errnoName(errno);
    super(`${path ?? syscall}: ${messages[code] ?? code.toLowerCase()} (${syscall}: ${code})`);
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
    this.path = path;
  }
}

/** Node's own fs errors carry `code` and `syscall`; give them the same shape as ours. */
export function fromNodeError(err: unknown, path: string): SyscallError | unknown {
  if (err && typeof err === 'object' && 'errno' in err && 'syscall' in err) {
    const e = err as { errno: number; syscall: string };
    return new SyscallError(e.syscall, Math.abs(e.errno), path);
  }
  return err;
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return err instanceof SyscallError && codes.includes(err.code);
}
