// Why: nsdump runs on kernels from 5.x to 6.18; what it can ask the kernel is decided once, here,
// by trying each request on our own namespaces (ENOTTY/EINVAL = not there), never by version.
import { close, open, pidfdOpen, setns } from './ffi.js';
import { isErrno } from './errors.js';
import { nsGetId, nsGetTgidInPidns, nsMntGetInfo, pidfdGetNamespace } from './nsfs.js';
import type { Features } from '../model/image.js';

const CLONE_NEWUTS = 0x04000000;

/** True when the kernel understands the request; `refusedMeansKnown` errnos also count as yes. */
function probe(fn: () => void, ...refusedMeansKnown: string[]): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (refusedMeansKnown.length && isErrno(err, ...refusedMeansKnown)) return true;
    if (isErrno(err, 'ENOTTY', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP')) return false;
    throw err;
  }
}

function withFd<R>(path: string, fn: (fd: number) => R): R {
  const fd = open(path);
  try {
    return fn(fd);
  } finally {
    close(fd);
  }
}

let cached: Features | undefined;

export function detectFeatures(): Features {
  if (cached) return cached;
  const pidfd = pidfdOpen(process.pid);
  try {
    cached = {
      nsGetId: withFd('/proc/self/ns/uts', (fd) => probe(() => nsGetId(fd))),
      mntNsInfo: withFd('/proc/self/ns/mnt', (fd) => probe(() => nsMntGetInfo(fd))),
      pidfdNamespaces: probe(() => close(pidfdGetNamespace(pidfd, 'uts'))),
      pidnsTranslate: withFd('/proc/self/ns/pid', (fd) => probe(() => nsGetTgidInPidns(fd, process.pid))),
      // Joining our own uts namespace through our own pidfd changes nothing where it works; before
      // 5.8 setns() rejects a pidfd with EINVAL. Inside a container the kernel may refuse (EPERM:
      // no CAP_SYS_ADMIN over the uts namespace's owner) — it understood the pidfd all the same.
      pidfdSetns: probe(() => setns(pidfd, CLONE_NEWUTS, 'setns(pidfd)'), 'EPERM'),
    };
    return cached;
  } finally {
    close(pidfd);
  }
}
