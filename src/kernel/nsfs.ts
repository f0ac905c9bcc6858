// Why: nsfs and pidfd ioctl numbers, hard-coded because the installed <linux/nsfs.h> predates most
// of them (see ../shared/kernel-notes.md and ioctl_ns(2)). Each wrapper returns a value or throws.
import { ioctlNone, ioctlPtr, ioctlVal } from './ffi.js';

export const NS_GET_USERNS = 0xb701;
export const NS_GET_PARENT = 0xb702;
export const NS_GET_NSTYPE = 0xb703;
export const NS_GET_OWNER_UID = 0xb704;
export const NS_GET_MNTNS_ID = 0x8008b705;
export const NS_GET_PID_FROM_PIDNS = 0x8004b706;
export const NS_GET_TGID_IN_PIDNS = 0x8004b709;
export const NS_MNT_GET_INFO = 0x8010b70a;
export const NS_GET_ID = 0x8008b70d;

/** PIDFD_GET_<TYPE>_NAMESPACE, in the kernel's order (6.11). */
export const PIDFD_GET_NAMESPACE = {
  cgroup: 0xff01,
  ipc: 0xff02,
  mnt: 0xff03,
  net: 0xff04,
  pid: 0xff05,
  pid_for_children: 0xff06,
  time: 0xff07,
  time_for_children: 0xff08,
  user: 0xff09,
  uts: 0xff0a,
} as const;

/** Owning user namespace (for a user namespace: its parent). Returns a new fd. */
export function nsGetUserns(fd: number, what?: string): number {
  return ioctlNone(fd, NS_GET_USERNS, what);
}

/** Parent of a pid or user namespace. Returns a new fd. */
export function nsGetParent(fd: number, what?: string): number {
  return ioctlNone(fd, NS_GET_PARENT, what);
}

/** The CLONE_NEW* flag of the namespace. */
export function nsGetNstype(fd: number, what?: string): number {
  return ioctlNone(fd, NS_GET_NSTYPE, what);
}

export function nsGetOwnerUid(fd: number, what?: string): number {
  const buf = Buffer.alloc(4);
  ioctlPtr(fd, NS_GET_OWNER_UID, buf, what);
  return buf.readUInt32LE(0);
}

/** 64-bit namespace id, never reused (6.18), as a decimal string: it may exceed 2^53. */
export function nsGetId(fd: number, what?: string): string {
  const buf = Buffer.alloc(8);
  ioctlPtr(fd, NS_GET_ID, buf, what);
  return buf.readBigUInt64LE(0).toString();
}

/** struct mnt_ns_info { u32 size; u32 nr_mounts; u64 mnt_ns_id; } */
export function nsMntGetInfo(fd: number, what?: string): { nrMounts: number; mntNsId: string } {
  const buf = Buffer.alloc(16);
  buf.writeUInt32LE(16, 0);
  ioctlPtr(fd, NS_MNT_GET_INFO, buf, what);
  return { nrMounts: buf.readUInt32LE(4), mntNsId: buf.readBigUInt64LE(8).toString() };
}

export function pidfdGetNamespace(pidfd: number, which: keyof typeof PIDFD_GET_NAMESPACE, what?: string): number {
  return ioctlVal(pidfd, PIDFD_GET_NAMESPACE[which], 0, what);
}

/** The pid (tgid) that a process of the caller's pid namespace has in the pid namespace `fd` (6.11). */
export function nsGetTgidInPidns(fd: number, pid: number, what?: string): number {
  return ioctlVal(fd, NS_GET_TGID_IN_PIDNS, pid, what);
}
