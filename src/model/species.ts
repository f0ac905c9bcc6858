// Why: one table that names the eight namespace types, their CLONE_NEW* flags and their /proc
// links, so no other module spells a flag or a link name itself.

export const NS_TYPES = ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time'] as const;
export type NsType = (typeof NS_TYPES)[number];

/** The ten links under /proc/PID/ns: the eight types plus the two that apply to future children. */
export const NS_LINKS = [...NS_TYPES, 'pid_for_children', 'time_for_children'] as const;
export type NsLink = (typeof NS_LINKS)[number];

export const CLONE_FLAGS: Record<NsType, number> = {
  user: 0x10000000,
  pid: 0x20000000,
  mnt: 0x00020000,
  net: 0x40000000,
  ipc: 0x08000000,
  uts: 0x04000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

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

/** Only these two kinds have parents (NS_GET_PARENT answers EINVAL for the rest). */
export function isHierarchical(type: NsType): type is 'user' | 'pid' {
  return type === 'user' || type === 'pid';
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

const LINK_NAME_TO_TYPE: Record<string, NsType> = { mnt: 'mnt', user: 'user', pid: 'pid', net: 'net', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup', time: 'time' };

/** Type named by an nsfs link's prefix (the kernel prints "mnt", "pid", … for every link kind). */
export function nsTypeFromLinkName(name: string): NsType | undefined {
  return LINK_NAME_TO_TYPE[name];
}
