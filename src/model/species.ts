// Why: one table of the eight namespace types — CLONE_NEW* flag, /proc link, util-linux option,
// join order, nesting, what of each a restore makes again, the kernel that first had it — so no
// other module spells one of these facts itself; the lists below are derived from it.

export const NS_TYPES = ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time'] as const;
export type NsType = (typeof NS_TYPES)[number];

/** The ten links under /proc/PID/ns: the eight types plus the two that apply to future children. */
export const NS_LINKS = [...NS_TYPES, 'pid_for_children', 'time_for_children'] as const;
export type NsLink = (typeof NS_LINKS)[number];

export interface Species {
  type: NsType;
  /** CLONE_NEW* (clone(2), unshare(2), setns(2)). */
  flag: number;
  /** Its name in the kernel headers (CLONE_NEWNS for mnt: the first, when no other kind was foreseen). */
  flagName: string;
  /** The kernel's name for it: its /proc/PID/ns link and the prefix of an nsfs link ("mnt:[…]"). */
  link: NsType;
  /** util-linux unshare(1)/nsenter(1) long option, without "--" ("mount" for mnt). */
  utilLong: string;
  /** util-linux nsenter(1) short option. */
  utilShort: string;
  /**
   * Position when joining one namespace at a time as a privileged executor: everything else first,
   * the user namespace last (joining it first would drop the capabilities the other joins need).
   */
  joinOrder: number;
  /** Has a parent of its own type (NS_GET_PARENT answers EINVAL for the rest). */
  hierarchical: boolean;
  /** The state a restore sets inside a namespace it made (empty: it makes the namespace only). */
  restorable: string;
  /** A restore cannot make it faithfully without that state (the image must have it). */
  needsState: boolean;
  /** Linux version that first made it, [major, minor]. */
  since: readonly [number, number];
}

export const SPECIES: Record<NsType, Species> = {
  user: { type: 'user', flag: 0x10000000, flagName: 'CLONE_NEWUSER', link: 'user', utilLong: 'user', utilShort: 'U', joinOrder: 7, hierarchical: true, restorable: 'uid/gid/projid maps, setgroups', since: [3, 8], needsState: true },
  pid: { type: 'pid', flag: 0x20000000, flagName: 'CLONE_NEWPID', link: 'pid', utilLong: 'pid', utilShort: 'p', joinOrder: 4, hierarchical: true, restorable: '', since: [2, 6], needsState: false },
  mnt: { type: 'mnt', flag: 0x00020000, flagName: 'CLONE_NEWNS', link: 'mnt', utilLong: 'mount', utilShort: 'm', joinOrder: 5, hierarchical: false, restorable: 'bind mounts of namespaces', since: [2, 4], needsState: false },
  net: { type: 'net', flag: 0x40000000, flagName: 'CLONE_NEWNET', link: 'net', utilLong: 'net', utilShort: 'n', joinOrder: 3, hierarchical: false, restorable: 'links, addresses, policy rules and the routes of the tables they look up, changed net sysctls', since: [2, 6], needsState: false },
  ipc: { type: 'ipc', flag: 0x08000000, flagName: 'CLONE_NEWIPC', link: 'ipc', utilLong: 'ipc', utilShort: 'i', joinOrder: 1, hierarchical: false, restorable: 'kernel.* and fs.mqueue.* sysctls', since: [2, 6], needsState: true },
  uts: { type: 'uts', flag: 0x04000000, flagName: 'CLONE_NEWUTS', link: 'uts', utilLong: 'uts', utilShort: 'u', joinOrder: 2, hierarchical: false, restorable: 'hostname, domainname', since: [2, 6], needsState: true },
  cgroup: { type: 'cgroup', flag: 0x02000000, flagName: 'CLONE_NEWCGROUP', link: 'cgroup', utilLong: 'cgroup', utilShort: 'C', joinOrder: 0, hierarchical: false, restorable: '', since: [4, 6], needsState: false },
  time: { type: 'time', flag: 0x00000080, flagName: 'CLONE_NEWTIME', link: 'time', utilLong: 'time', utilShort: 'T', joinOrder: 6, hierarchical: false, restorable: 'monotonic and boottime offsets', since: [5, 6], needsState: true },
};

export const CLONE_FLAGS = Object.fromEntries(NS_TYPES.map((t) => [t, SPECIES[t].flag])) as Record<NsType, number>;

/** util-linux unshare/nsenter long option names ("mount" for mnt). */
export const UTIL_LINUX_OPTION = Object.fromEntries(NS_TYPES.map((t) => [t, SPECIES[t].utilLong])) as Record<NsType, string>;

/** Per-namespace join order for a privileged executor: everything else first, the user namespace last. */
export const JOIN_ORDER: NsType[] = [...NS_TYPES].sort((a, b) => SPECIES[a].joinOrder - SPECIES[b].joinOrder);

export function typeOfFlag(flag: number): NsType | undefined {
  return NS_TYPES.find((t) => CLONE_FLAGS[t] === flag);
}

/** The namespace type a /proc/PID/ns link refers to. */
export function linkType(link: NsLink): NsType {
  if (link === 'pid_for_children') return 'pid';
  if (link === 'time_for_children') return 'time';
  return link;
}

/** Rank for deterministic ordering: user namespaces first, as every plan must create them first. */
export const TYPE_RANK: Record<NsType, number> = Object.fromEntries(NS_TYPES.map((t, i) => [t, i])) as Record<NsType, number>;

/** Only user and pid namespaces have parents (NS_GET_PARENT answers EINVAL for the rest). */
export function isHierarchical(type: NsType): type is 'user' | 'pid' {
  return SPECIES[type].hierarchical;
}

/** Kernel nesting limits (kernel-notes: 32 pid levels below init, user ns depth 32 below init). */
export const MAX_PID_LEVEL = 32;
export const MAX_USER_LEVEL = 33;

/** "uts:[4026531838]" → ["uts", 4026531838]; undefined for anything that is not an nsfs link. */
export function parseNsLink(target: string): [string, number] | undefined {
  const m = /^([a-z_]+):\[(\d+)\]$/.exec(target);
  if (!m) return undefined;
  return [m[1]!, Number(m[2])];
}

const LINK_NAME_TO_TYPE: Record<string, NsType> = Object.fromEntries(NS_TYPES.map((t) => [SPECIES[t].link, t]));

/** Type named by an nsfs link's prefix (the kernel prints "mnt", "pid", … for every link kind). */
export function nsTypeFromLinkName(name: string): NsType | undefined {
  return LINK_NAME_TO_TYPE[name];
}
