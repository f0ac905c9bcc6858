// Why: the zod schemas here are the single source of the image types. Discovery produces values of
// these types, the codec maps them to and from protobuf, `show --json` prints them as they are,
// and the planner (a later stage) reads them after validation.
import * as z from 'zod';
import { NS_LINKS, NS_TYPES, type NsType } from './species.js';

import { READABLE_FORMAT_VERSIONS } from './format.js';
import { KernelText } from './kernel-text.js';

const u32 = z.number().int().min(0).max(0xffffffff);
const i64 = z.number().int().safe();
/** 64-bit kernel values travel as decimal strings: JSON numbers lose precision past 2^53. */
// (Up to 19 digits is below 2^64 whatever they are: only a 20-digit one is parsed to compare.)
export const u64 = z.string().regex(/^(0|[1-9]\d{0,19})$/).refine((s) => s.length < 20 || BigInt(s) <= 0xffffffffffffffffn, 'exceeds 64 bits');
const imageId = z.number().int().min(1);

export const NsTypeSchema = z.enum(NS_TYPES);

export const IdMapLine = z.object({ inside: u32, outside: u32, count: u32 });
export type IdMapLine = z.infer<typeof IdMapLine>;

export const UserState = z.object({
  uidMap: z.array(IdMapLine),
  gidMap: z.array(IdMapLine),
  projidMap: z.array(IdMapLine),
  setgroups: z.enum(['allow', 'deny']),
  ownerUid: u32,
  level: z.number().int().min(0),
});

/** Hostname and domainname as the kernel's bytes (kernel-text.ts): a string, or {hex} when not UTF-8. */
export const UtsState = z.object({ hostname: KernelText, domainname: KernelText });

export const IpcState = z.object({ sysctls: z.record(z.string(), z.string()) });

export const Timespec = z.object({ seconds: i64, nanoseconds: z.number().int().min(0).max(999_999_999) });
export const TimeState = z.object({ monotonic: Timespec, boottime: Timespec });

export const PidState = z.object({ level: z.number().int().min(0) });

export const CgroupState = z.object({
  /** The namespace's root, absolute in the dumper's cgroup namespace; "" when it could not be derived. */
  root: z.string(),
  /** How a member's cgroup reads from inside the namespace (may start with "/.."). */
  insidePath: z.string(),
});

/** Interface names as the kernel takes them (dev_valid_name): no '/', ':' or whitespace, at most 15 bytes. */
export const IfName = z.string().regex(/^[^/:\s]{1,15}$/).refine((s) => s !== '.' && s !== '..' && Buffer.byteLength(s) <= 15, 'not a valid interface name');
const ipText = z.string().regex(/^$|^[0-9a-fA-F:.]{2,45}$/, 'not an IP address');
export const NetAddress = z.object({
  family: z.enum(['inet', 'inet6']),
  address: ipText,
  prefixLen: z.number().int().min(0).max(128),
  // Fields added after the first release default, so that `show --json` of an older nsdump reads.
  peer: ipText.default(''),
  broadcast: ipText.default(''),
  label: z.string().max(15).default(''),
  scope: z.number().int().min(0).max(255).default(0),
  flags: z.array(z.string()).default([]),
});
export const NetInterface = z.object({
  index: z.number().int(),
  name: IfName,
  kind: z.string().regex(/^[a-z0-9_-]*$/, 'not a link kind'),
  flags: z.array(z.string()),
  mtu: u32,
  mac: z.string().regex(/^$|^[0-9a-f]{2}(:[0-9a-f]{2})*$/, 'not a link-layer address'),
  addresses: z.array(NetAddress),
  /** IFLA_LINK: a veth's peer, a vlan's or macvlan's parent, by its ifindex where it lives; 0: none. */
  link: z.number().int().default(0),
  /** The net namespace (image id) `link` lives in; null: this one. */
  linkNetns: imageId.nullable().default(null),
  /** `link` lives in a net namespace the image does not have (the host's, another container's). */
  linkOutside: z.boolean().default(false),
  /** Ifindex of the bridge this link is a port of; 0: none. */
  master: z.number().int().default(0),
  vlanId: z.number().int().min(0).max(4095).default(0),
  macvlanMode: z.string().default(''),
});
export type NetInterface = z.infer<typeof NetInterface>;
export const NetRoute = z.object({
  family: z.enum(['inet', 'inet6']),
  table: u32,
  dst: ipText,
  dstLen: z.number().int().min(0).max(128),
  gateway: ipText,
  dev: z.union([z.literal(''), IfName]),
  protocol: z.number().int().min(0).max(255),
  scope: z.number().int().min(0).max(255),
  type: z.number().int().min(0).max(255),
  priority: u32,
  prefsrc: ipText,
  complex: z.boolean(),
});
export type NetRoute = z.infer<typeof NetRoute>;
const portRange = z.string().regex(/^$|^\d+-\d+$/, 'not a START-END range');
/** A policy routing rule as `ip rule` sets it. */
export const NetRule = z.object({
  family: z.enum(['inet', 'inet6']),
  priority: u32,
  action: z.string().regex(/^[a-z0-9]+$/, 'not a rule action'),
  table: u32,
  src: ipText,
  srcLen: z.number().int().min(0).max(128),
  dst: ipText,
  dstLen: z.number().int().min(0).max(128),
  tos: z.number().int().min(0).max(255),
  invert: z.boolean(),
  fwmark: u32,
  fwmask: u32,
  iif: z.union([z.literal(''), IfName]),
  oif: z.union([z.literal(''), IfName]),
  gotoPriority: u32,
  suppressPrefixlen: z.number().int().min(-1).max(128),
  suppressIfgroup: z.number().int().min(-1),
  protocol: z.number().int().min(0).max(255),
  l3mdev: z.boolean(),
  uidRange: portRange,
  ipProto: z.number().int().min(0).max(255),
  sportRange: portRange,
  dportRange: portRange,
  complex: z.boolean(),
});
export type NetRule = z.infer<typeof NetRule>;
export const NetState = z.object({
  interfaces: z.array(NetInterface),
  /** The main table, and every table a rule (default ones included) looks up. */
  routes: z.array(NetRoute).default([]),
  /** Rules a fresh namespace lacks, in the kernel's order. */
  rules: z.array(NetRule).default([]),
  /** Rules a fresh namespace has that this one lacks (a deleted default). */
  missingDefaultRules: z.array(NetRule).default([]),
  /** net.ipv4.* and net.ipv6.* that differ from those of a fresh namespace on the dumping host. */
  sysctls: z.record(z.string().regex(/^net\.ipv[46]\.[A-Za-z0-9_.-]+$/, 'not a net.ipv4/net.ipv6 sysctl'), z.string()).default({}),
});

export const Mount = z.object({
  id: u32,
  parentId: u32,
  device: z.string(),
  root: z.string(),
  mountPoint: z.string(),
  options: z.string(),
  fsType: z.string(),
  source: z.string(),
  superOptions: z.string(),
});
export type Mount = z.infer<typeof Mount>;
export const MntState = z.object({
  mountCount: u32,
  /** The mount table as a member sees it; empty when no process of the tree is inside. */
  mounts: z.array(Mount),
});

export const NsState = z.union([UserState, UtsState, IpcState, TimeState, PidState, CgroupState, NetState, MntState]);

export const STATE_SCHEMAS = {
  user: UserState,
  pid: PidState,
  mnt: MntState,
  net: NetState,
  ipc: IpcState,
  uts: UtsState,
  cgroup: CgroupState,
  time: TimeState,
} as const;
export type StateOf<T extends keyof typeof STATE_SCHEMAS> = z.infer<(typeof STATE_SCHEMAS)[T]>;

export const HolderKind = z.enum(['fd', 'bind']);
export const Holder = z.object({
  kind: HolderKind,
  /** The process holding the fd, or for a bind mount a process in the mount namespace where it is mounted. */
  pid: z.number().int().min(1),
  fd: z.number().int().min(0).optional(),
  /** For a bind mount: the mount point as that process sees it. */
  path: z.string().optional(),
});
export type Holder = z.infer<typeof Holder>;

export const NamespaceFields = z.object({
  id: imageId,
  type: NsTypeSchema,
  inode: u32,
  device: u32,
  /** NS_GET_ID (6.18+); null where the kernel lacks it. */
  nsId: u64.nullable(),
  owner: imageId.nullable(),
  parent: imageId.nullable(),
  /** NS_GET_USERNS answered EPERM: the owner lies beyond the dumper's scope. */
  ownerBeyondScope: z.boolean(),
  /** NS_GET_PARENT answered EPERM: the parent lies beyond the scope (or this is an initial namespace). */
  parentBeyondScope: z.boolean(),
  /** One of the dumper's own namespaces: a restore joins it rather than creating it. */
  inScope: z.boolean(),
  initial: z.boolean(),
  holders: z.array(Holder),
  state: z.unknown(),
  /** Why state is null or incomplete. */
  stateNote: z.string(),
});
/**
 * One namespace type with its own state (null: not read; an absent state reads as null). The
 * namespace is a union discriminated on `type`: the reader looks the schema up by type (a plain
 * union would try all eight and build an issue for every miss: most of the time spent reading a
 * large image), and code that narrows on `type` gets that type's state.
 */
function namespaceOf<T extends NsType, S extends z.ZodType>(type: T, state: S) {
  return NamespaceFields.extend({ type: z.literal(type), state: state.nullable().default(null as never) }); // never: TS cannot see null fits an unknown S
}
export const Namespace = z.discriminatedUnion('type', [
  namespaceOf('user', UserState), namespaceOf('pid', PidState), namespaceOf('mnt', MntState), namespaceOf('net', NetState),
  namespaceOf('ipc', IpcState), namespaceOf('uts', UtsState), namespaceOf('cgroup', CgroupState), namespaceOf('time', TimeState),
]);
export type Namespace = z.infer<typeof Namespace>;
/** A namespace of one type: `NamespaceOf<'uts'>` has a uts state. */
export type NamespaceOf<T extends NsType> = Extract<Namespace, { type: T }>;

const NsRefs = z.object(Object.fromEntries(NS_LINKS.map((l) => [l, imageId.nullable()])) as Record<(typeof NS_LINKS)[number], z.ZodNullable<typeof imageId>>);
export type NsRefs = z.infer<typeof NsRefs>;

/** An id as the dumper's user namespace sees it; null: it has no mapping there (the kernel shows 65534). */
const CredId = u32.nullable();
const IdSet = z.object({ real: CredId, effective: CredId, saved: CredId, fs: CredId });
/** A capability set as /proc/PID/status prints it: 16 hex digits, bit N = capability N. */
const CapSet = z.string().regex(/^[0-9a-f]{16}$/);

export const Credentials = z.object({
  uid: IdSet,
  gid: IdSet,
  /** Supplementary groups. */
  groups: z.array(CredId),
  capabilities: z.object({ inheritable: CapSet, permitted: CapSet, effective: CapSet, bounding: CapSet, ambient: CapSet }),
  noNewPrivs: z.boolean(),
});
export type Credentials = z.infer<typeof Credentials>;

export const Process = z.object({
  pid: z.number().int().min(1),
  ppid: z.number().int().min(0),
  /** The kernel's bytes (kernel-text.ts): a string, or {hex} when not UTF-8 (a name cut mid-character). */
  comm: KernelText,
  /** Pid in each pid namespace from the dumper's outwards-visible one inwards (NSpid, outermost first). */
  nspid: z.array(z.number().int().min(1)),
  namespaces: NsRefs,
  /** null: not recorded (an image from before credentials were dumped). */
  credentials: Credentials.nullable().default(null),
});
export type Process = z.infer<typeof Process>;

export const Thread = z.object({
  pid: z.number().int().min(1),
  tid: z.number().int().min(1),
  namespaces: NsRefs,
});
export type Thread = z.infer<typeof Thread>;

export const Features = z.object({
  nsGetId: z.boolean(),
  pidfdNamespaces: z.boolean(),
  pidfdSetns: z.boolean(),
  mntNsInfo: z.boolean(),
  /** NS_GET_TGID_IN_PIDNS (6.11): pids translated by ioctl instead of read from /proc/PID/status. */
  pidnsTranslate: z.boolean(),
});
export type Features = z.infer<typeof Features>;

export const ScopeEntry = z.object({ type: NsTypeSchema, inode: u32, nsId: u64.nullable(), id: imageId.nullable() });

export const Inventory = z.object({
  /** The version the image was written in (READABLE_FORMAT_VERSIONS); a dump writes FORMAT_VERSION. */
  formatVersion: z.number().int().refine((v) => READABLE_FORMAT_VERSIONS.includes(v), 'not a format version this nsdump reads'),
  nsdumpVersion: z.string(),
  kernelRelease: z.string(),
  features: Features,
  /** The dumper's own namespaces: the edge of what it could see. */
  scope: z.array(ScopeEntry),
  /** The pid given to `nsdump dump`; null for `dump --all`, whose image has no root process. */
  rootPid: z.number().int().min(1).nullable(),
  /** Processes the kernel would not show the dumper (EACCES): left out, their descendants too. */
  unreadablePids: z.array(z.number().int().min(1)).default([]),
  /** Unix time of the dump, milliseconds (at most what a JavaScript Date holds: ±8.64e15). */
  time: z.number().int().min(0).max(8_640_000_000_000_000),
  hostname: z.string(),
});
export type Inventory = z.infer<typeof Inventory>;

export const Image = z.object({
  inventory: Inventory,
  namespaces: z.array(Namespace),
  processes: z.array(Process),
  threads: z.array(Thread),
});
export type Image = z.infer<typeof Image>;

/** Narrow a namespace to its type: `isNamespaceOf(n, 'user') && n.state?.uidMap`. */
export function isNamespaceOf<T extends NsType>(n: Namespace, type: T): n is NamespaceOf<T> {
  return n.type === type;
}

/**
 * The state of a namespace that must be of `type` and have a state: one the image rules or the
 * planner's rules have vouched for (a user namespace to create has its maps). Anything else is a
 * bug here, not a bad image, and says so.
 */
export function stateOf<T extends NsType>(n: Namespace, type: T): NonNullable<NamespaceOf<T>['state']> {
  if (n.type !== type || n.state === null) throw new Error(`internal: ${n.type}#${n.id} has no ${type} state`);
  // Checked just above; TypeScript does not narrow a union by a generic discriminant.
  return n.state as NonNullable<NamespaceOf<T>['state']>;
}

/** The net state of a namespace that may be missing or of another type (a link's far end): null then. */
export function netStateOf(n: Namespace | undefined): StateOf<'net'> | null {
  return n?.type === 'net' ? n.state : null;
}
