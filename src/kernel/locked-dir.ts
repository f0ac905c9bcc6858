// Why: a working directory whose owner may be killed outright (a dump's temporary image, a
// restore's FIFOs) must be recognisable as abandoned by whoever comes next, whatever pids they can
// see. The owner holds flock(LOCK_EX) on it for as long as it lives — the kernel drops the lock
// with the last fd, however the owner ended — and a directory whose lock can be taken is
// abandoned. The parent is locked shared while a directory is made and locked, and exclusively
// while abandoned ones are swept, so a sweep never meets a fresh directory before its lock.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, O_CLOEXEC, O_DIRECTORY, O_RDONLY, close, flock, open } from './ffi.js';

function openDirFd(path: string): number | undefined {
  try {
    return open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  } catch {
    return undefined;
  }
}

/** mkdtemp(parent/prefix…), locked by us before any sweep can look at it; close `lockFd` to let go. */
export function makeLockedDir(parent: string, prefix: string): { path: string; lockFd: number } {
  const pfd = openDirFd(parent);
  // Blocks only while a sweep holds the parent exclusively: a scan of one directory.
  if (pfd !== undefined) flock(pfd, LOCK_SH, parent);
  try {
    const path = mkdtempSync(join(parent, prefix));
    const lockFd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    flock(lockFd, LOCK_EX, path);
    return { path, lockFd };
  } finally {
    if (pfd !== undefined) {
      flock(pfd, LOCK_UN, parent);
      close(pfd);
    }
  }
}

/**
 * Remove the entries of `parent` that `candidate` names (by name and path) and whose lock nobody
 * holds; returns their paths. Skipped (it is only tidying) while another process makes its
 * directory there.
 */
export function sweepAbandoned(parent: string, candidate: (name: string, path: string) => boolean): string[] {
  const pfd = openDirFd(parent);
  if (pfd === undefined) return [];
  const removed: string[] = [];
  try {
    if (!flock(pfd, LOCK_EX | LOCK_NB, parent)) return [];
    for (const name of readdirSync(parent)) {
      const path = join(parent, name);
      if (!candidate(name, path)) continue;
      const fd = openDirFd(path);
      if (fd === undefined) continue;
      try {
        // The lock is free: its owner is gone (a live one holds it until it exits).
        if (!flock(fd, LOCK_EX | LOCK_NB, path)) continue;
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } finally {
        close(fd);
      }
    }
  } finally {
    close(pfd);
  }
  return removed;
}
