// Why: "what capability does process X have over namespace Y?" is decided by a short rule in the
// kernel (cap_capable() in security/commoncap.c, described in user_namespaces(7) and
// capabilities(7)); this module is that rule as pure functions over plain data, with the reason in
// words a person can check against the man pages. Credentials are a small type of their own so
// that a dump's per-process credentials, or /proc/PID/status read live, map onto it.

/** Capability names by number, as in <linux/capability.h> (CAP_LAST_CAP is 40 on Linux 6.18). */
export const CAP_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;
export type CapName = (typeof CAP_NAMES)[number];

/** Every capability this table knows. */
export const ALL_CAPS = (1n << BigInt(CAP_NAMES.length)) - 1n;

export function capNumber(name: string): number | undefined {
  const n = CAP_NAMES.indexOf(name.toUpperCase().replace(/^(?!CAP_)/, 'CAP_') as CapName);
  return n < 0 ? undefined : n;
}

export const capBit = (cap: number) => 1n << BigInt(cap);

/** The names in a mask, lowest first; bits beyond the table as "cap_N". */
export function capList(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; mask >> BigInt(i) !== 0n; i++) if (mask & capBit(i)) out.push(CAP_NAMES[i] ?? `cap_${i}`);
  return out;
}

/** "all capabilities", "all but CAP_SYS_RESOURCE", "CAP_NET_ADMIN, CAP_SYS_ADMIN", "empty": the shorter way. */
export function describeSet(mask: bigint): string {
  const has = capList(mask & ALL_CAPS);
  if (!has.length) return 'empty';
  if (has.length === CAP_NAMES.length) return 'all capabilities';
  const lacks = capList(ALL_CAPS & ~mask);
  return lacks.length < has.length ? `all but ${lacks.join(', ')}` : has.join(', ');
}

/**
 * What the capability check looks at, and what explains it. Uids are kernel ids as seen from the
 * reader's user namespace (the initial one for a host dump); null where the id is unmapped there,
 * which never matches an owner. Capability sets are masks as /proc/PID/status prints them.
 */
export interface Credentials {
  pid: number;
  /** The process's user namespace (an id of the UserNs table). */
  userNs: number;
  uid: number | null;
  euid: number | null;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  bounding: bigint;
  ambient: bigint;
  noNewPrivs: boolean;
}

/** A user namespace as the rule needs it: its parent (null: beyond what is known) and who created it. */
export interface UserNs {
  id: number;
  parent: number | null;
  /** The creator's euid as a kernel id; null where unmapped or unknown. */
  ownerUid: number | null;
  /** A name for messages: "user#3". */
  name: string;
  /** Nesting depth (the initial user namespace is 0), where known. */
  level?: number;
  /** It has a parent the reader could not see (NS_GET_PARENT answered EPERM below the initial namespace). */
  parentHidden?: boolean;
}

/** `unknown`: the namespaces between the process and the target lie beyond what the reader could see. */
export type RuleKind = 'member' | 'ancestor' | 'owner' | 'none' | 'unknown';

export interface Rule {
  rule: RuleKind;
  /** The user namespace the rule applies in. */
  userNs: number;
  text: string;
}

export interface CapVerdict {
  /** The capabilities the process has in the target user namespace. */
  caps: bigint;
  rules: Rule[];
}

/** The chain from `id` up to the top: [id, parent, grandparent, …]. */
function ancestry(table: Map<number, UserNs>, id: number): UserNs[] {
  const out: UserNs[] = [];
  for (let u = table.get(id); u && out.length <= 64; u = u.parent === null ? undefined : table.get(u.parent)) out.push(u);
  return out;
}

/**
 * The capabilities `cred` has in user namespace `target`, and why. The kernel's walk: starting
 * at the target and going up, a process has (1) its effective set where it is a member of the
 * namespace; (2) every capability in a namespace whose parent is the process's own user
 * namespace and whose creator's euid is the process's euid (the owner rule, checked before
 * reaching the process's namespace, so it wins over a missing effective capability); (3) via an
 * ancestor, the same as in that ancestor; (4) nothing when the process's namespace is not the
 * target nor one of its ancestors.
 */
export function capsIn(users: readonly UserNs[], cred: Credentials, target: number): CapVerdict {
  const table = new Map(users.map((u) => [u.id, u]));
  const name = (id: number) => table.get(id)?.name ?? `user namespace ${id}`;
  const own = name(cred.userNs);
  const chain = ancestry(table, target);
  const effText = `its effective set (${describeSet(cred.effective)})`;
  const ownerMissed = (child: UserNs) => `; it does not own ${child.name}, its child on the way: that was created by ${child.ownerUid === null ? 'an unmapped uid' : `euid ${child.ownerUid}`}, not by pid ${cred.pid}'s euid ${cred.euid ?? '(unmapped)'}`;
  for (let i = 0; i < chain.length; i++) {
    const ns = chain[i]!;
    if (ns.id === cred.userNs) {
      const rule: RuleKind = i === 0 ? 'member' : 'ancestor';
      const text =
        i === 0
          ? `pid ${cred.pid} is a member of ${own}: there it has ${effText} (user_namespaces(7): a process's capabilities apply in its own user namespace)`
          : `pid ${cred.pid} is in ${own}, an ancestor of ${name(target)} (${chain.slice(0, i).map((u) => u.name).reverse().join(' under ')} below it): it has ${effText} there, and a capability in a user namespace holds in every descendant (user_namespaces(7))${ownerMissed(chain[i - 1]!)}`;
      return { caps: cred.effective, rules: [{ rule, userNs: ns.id, text }] };
    }
    if (ns.parent === cred.userNs) {
      if (cred.euid !== null && ns.ownerUid !== null && ns.ownerUid === cred.euid) {
        const below = i === 0 ? '' : ` and so in ${name(target)} below it`;
        return {
          caps: ALL_CAPS,
          rules: [{ rule: 'owner', userNs: ns.id, text: `${ns.name} was created by euid ${ns.ownerUid}, which is pid ${cred.pid}'s euid, and its parent ${own} is pid ${cred.pid}'s user namespace: pid ${cred.pid} has every capability in ${ns.name}${below}, whatever its own sets (user_namespaces(7): the owner of a child namespace)` }],
        };
      }
    }
  }
  // The walk ran out of known namespaces. Where the top one has a parent nobody could see, the
  // process may still be in (or own a namespace on) the hidden part of the chain — unless its level
  // says otherwise: the hidden part lies strictly above the top's level, and a process at or below
  // that level would have been met on the way (the kernel stops the walk there too).
  const top = chain[chain.length - 1];
  const mine = table.get(cred.userNs);
  const hidden = !mine || (top !== undefined && top.parentHidden === true && !(mine.level !== undefined && top.level !== undefined && mine.level >= top.level));
  if (hidden) {
    const why = !mine
      ? `pid ${cred.pid}'s user namespace is not known here`
      : `${top!.name}, the highest user namespace known above ${name(target)}, has a parent beyond the reader's scope, and pid ${cred.pid}'s ${own} may lie there`;
    return { caps: 0n, rules: [{ rule: 'unknown', userNs: target, text: `${why}: whether it has any capability in ${name(target)} cannot be decided from here` }] };
  }
  const why = `pid ${cred.pid} is in ${own}, which is neither ${name(target)} nor one of its ancestors (${chain.map((u) => u.name).join(' ← ') || 'none known'})`;
  return { caps: 0n, rules: [{ rule: 'none', userNs: target, text: `${why}: no capability in ${name(target)}` }] };
}

/** Why a capability the process does not have is missing from its effective set, in words. */
export function whyNotEffective(cred: Credentials, cap: number): string {
  const bit = capBit(cap);
  const name = CAP_NAMES[cap] ?? `cap_${cap}`;
  if (cred.effective & bit) return `${name} is effective`;
  if (cred.permitted & bit) return `${name} is permitted but not effective (a capset() or a non-root execve() cleared it)`;
  if (!(cred.bounding & bit)) return `${name} is neither permitted nor in the bounding set (dropped: no execve() can bring it back)`;
  return `${name} is not permitted (nothing gave it: not root, not ambient, no file capability)`;
}

/** The namespace Y of a question: its type, a name for people, and the user namespace whose capabilities count. */
export interface CapsTarget {
  type: NsKind;
  /** "uts:[4026532301]" (live) or "uts#7" (image). */
  name: string;
  /** Its owner, or itself for a user namespace; null: the owner lies beyond what the reader could see. */
  userNs: number | null;
}

/** One answer to "what can process X do over Y", as `nsdump caps` prints it (text or JSON). */
export interface CapsAnswer {
  pid: number;
  ns: string;
  owner: string;
  capabilities: string[];
  rules: { rule: RuleKind; userNs: string; text: string }[];
  /** Whether the process is in the namespace itself (some operations need it besides the capability). */
  member: boolean;
  cap?: { name: string; held: boolean; why: string };
}

/** The rule applied to one process and one target, in the words `nsdump caps` prints; `cap` narrows it to one capability. */
export function explain(users: readonly UserNs[], cred: Credentials, target: CapsTarget, member: boolean, cap?: number): CapsAnswer {
  const byId = new Map(users.map((u) => [u.id, u.name]));
  const name = (id: number) => byId.get(id) ?? `user namespace ${id}`;
  const v: CapVerdict =
    target.userNs === null
      ? { caps: 0n, rules: [{ rule: 'unknown', userNs: 0, text: `the user namespace that owns ${target.name} lies beyond the reader's scope (NS_GET_USERNS answered EPERM): what pid ${cred.pid} may do over it cannot be decided from here` }] }
      : capsIn(users, cred, target.userNs);
  const a: CapsAnswer = {
    pid: cred.pid,
    ns: target.name,
    owner: target.userNs === null ? '(beyond scope)' : name(target.userNs),
    capabilities: capList(v.caps),
    rules: v.rules.map((r) => ({ rule: r.rule, userNs: r.userNs === 0 ? '(beyond scope)' : name(r.userNs), text: r.text })),
    member,
  };
  if (cap !== undefined) {
    const held = (v.caps & capBit(cap)) !== 0n;
    const rule = v.rules[0]!;
    const why = held ? rule.text : rule.rule === 'member' || rule.rule === 'ancestor' ? `${whyNotEffective(cred, cap)}; ${rule.text}` : rule.text;
    a.cap = { name: CAP_NAMES[cap]!, held, why };
  }
  return a;
}

export type NsKind = 'user' | 'pid' | 'mnt' | 'net' | 'ipc' | 'uts' | 'cgroup' | 'time';

/**
 * Having a capability over a namespace's owner is not the same as being allowed an operation on
 * it; what else the kernel asks, per type, for the operations people try first.
 */
export const OPERATION_NOTES: Record<NsKind, string[]> = {
  user: ['setns into it needs CAP_SYS_ADMIN in it (over itself, not its owner) and that the caller is not already in it, single-threaded'],
  uts: ['sethostname/setdomainname need CAP_SYS_ADMIN over its owner AND that the caller is in this uts namespace', 'setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace'],
  ipc: ['its kernel.* and fs.mqueue.* sysctls are gated on the writer\'s euid being the owner\'s root uid, not on capabilities', 'setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace'],
  net: ['configuring it (links, addresses, routes) needs CAP_NET_ADMIN over its owner and a socket in it', 'setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace'],
  mnt: ['mount/umount need CAP_SYS_ADMIN over its owner and that the caller is in it', 'setns into it also needs CAP_SYS_CHROOT and CAP_SYS_ADMIN in the caller\'s own user namespace'],
  pid: ['setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace, and it must be the caller\'s pid namespace or a descendant', 'signals to its processes follow uid rules and CAP_KILL over the target\'s user namespace'],
  cgroup: ['setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace'],
  time: ['writing /proc/PID/timens_offsets needs CAP_SYS_TIME over its owner, before any task entered it', 'setns into it also needs CAP_SYS_ADMIN in the caller\'s own user namespace'],
};

/** /proc/PID/status → the fields of Credentials it shows (uids as the reader sees them; 65534 may be an unmapped id). */
export function parseStatus(text: string): Omit<Credentials, 'pid' | 'userNs'> {
  const field = (k: string) => {
    const m = new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`/proc status: no ${k} line`);
    return m[1]!.trim();
  };
  const uids = field('Uid').split(/\s+/).map(Number);
  const hex = (k: string) => BigInt(`0x${field(k)}`);
  const nnp = /^NoNewPrivs:\s*(\d)/m.exec(text);
  return {
    uid: uids[0]!,
    euid: uids[1]!,
    effective: hex('CapEff'),
    permitted: hex('CapPrm'),
    inheritable: hex('CapInh'),
    bounding: hex('CapBnd'),
    ambient: /^CapAmb:/m.test(text) ? hex('CapAmb') : 0n,
    noNewPrivs: nnp?.[1] === '1',
  };
}
