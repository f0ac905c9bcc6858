// Why: hostnames, ipc and net sysctls of restored namespaces are set from inside them, and the
// kernel gates them differently: sethostname(2) wants CAP_SYS_ADMIN over the uts namespace's owner
// (the /proc/sys file only global root may write), ipc sysctls want the writer's euid to be the ipc
// namespace's root uid, net sysctls CAP_NET_ADMIN over the net namespace's owner (or that root
// uid). /proc/sys/kernel, /proc/sys/fs/mqueue and /proc/sys/net all resolve to the namespace of
// the thread that opens them. A thread can switch these namespaces, but switching back may be
// refused inside a container, so this runs in a child process of its own that never switches back:
// the executor spawns it once per restore with the list, and it reports on fd 3 as JSON.
import { readFileSync, writeSync, openSync, closeSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { setns, setUtsName } from '../kernel/ffi.js';
import { CLONE_FLAGS } from '../model/species.js';
import { sysctlPath, sysctlValue } from '../model/sysctl.js';
import { KernelText, kernelBytes } from '../model/kernel-text.js';
import { pathToFileURL } from 'node:url';

export const StateJob = z.object({
  /** The executor's pid: namespaces are reached as /proc/PID/fd/N of its fds. */
  pid: z.number().int().min(1),
  uts: z.array(z.object({ ns: z.string(), fd: z.number().int(), hostname: KernelText, domainname: KernelText })),
  ipc: z.array(z.object({ ns: z.string(), fd: z.number().int(), uid: z.number().int().min(0), gid: z.number().int().min(0), sysctls: z.array(z.tuple([z.string(), z.string()])) })),
  net: z.array(z.object({ ns: z.string(), fd: z.number().int(), sysctls: z.array(z.tuple([z.string().regex(/^net\.ipv[46]\.[A-Za-z0-9_.-]+$/), z.string()])) })),
});
export type StateJob = z.infer<typeof StateJob>;

export type StateResult = { ok: true } | { ok: false; ns: string; reason: string };

function enter(pid: number, fd: number, type: 'uts' | 'ipc' | 'net'): void {
  const nsfd = openSync(`/proc/${pid}/fd/${fd}`, 'r');
  try {
    setns(nsfd, CLONE_FLAGS[type], `setns ${type}`);
  } finally {
    closeSync(nsfd);
  }
}

/** Write a sysctl of the thread's namespace, unless it already has that value (a write may be refused where a read is not). */
function writeSysctl(name: string, value: string): void {
  const path = sysctlPath(name);
  if (sysctlValue(readFileSync(path, 'utf8')) === value) return;
  writeFileSync(path, `${value}\n`);
}

export function writeState(job: StateJob): StateResult {
  let current = '';
  try {
    for (const u of job.uts) {
      current = u.ns;
      enter(job.pid, u.fd, 'uts');
      // The image's bytes, not a re-encoding: a hostname need not be UTF-8.
      setUtsName('hostname', kernelBytes(u.hostname));
      setUtsName('domainname', kernelBytes(u.domainname));
    }
    for (const i of job.ipc) {
      current = i.ns;
      // /proc/sys/kernel and /proc/sys/fs/mqueue resolve to the ipc namespace of the thread that
      // opens them; the write is checked against the euid at write time.
      enter(job.pid, i.fd, 'ipc');
      process.setegid!(i.gid);
      process.seteuid!(i.uid);
      try {
        for (const [k, v] of i.sysctls) writeSysctl(k, v);
      } finally {
        process.seteuid!(0);
        process.setegid!(0);
      }
    }
    for (const n of job.net) {
      current = n.ns;
      enter(job.pid, n.fd, 'net');
      for (const [k, v] of n.sysctls) {
        try {
          writeSysctl(k, v);
        } catch (err) {
          throw new Error(`${k}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, ns: current, reason: err instanceof Error ? err.message : String(err) };
  }
}

// Run as a program: the job on stdin, the result on fd 3.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const job = StateJob.parse(JSON.parse(readFileSync(0, 'utf8')));
  writeSync(3, `${JSON.stringify(writeState(job))}\n`);
}
