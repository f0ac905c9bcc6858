// Why: the one validation path of an image, run by everything that reads one (image directory,
// `encode`'s JSON, the library's `validate` and `plan`): after the zod schemas have checked each
// entry's shape, these named rules check what no single entry can show — references, ids, the
// process tree, the dumper's scope, the kernel's limits. Each rule makes one pass (ids point
// backwards, so depths and cycles need no recursion and no walk per entry), and the first problem
// found is one ImageError naming file, entry, what is wrong, and the rule.
import { kernelBytes } from '../model/kernel-text.js';
import type { IdMapLine, Image, Namespace, NsRefs } from '../model/image.js';
import { IPC_SYSCTLS } from '../model/ipc.js';
import { MAX_PID_LEVEL, MAX_USER_LEVEL, NS_LINKS, isHierarchical, linkType } from '../model/species.js';
import type { FileKind } from './codec.js';
import { ImageError } from './errors.js';

/** Where entries of a kind are, for messages: a file of an image directory, or a place in JSON. */
export type Locate = (kind: FileKind) => string;

/** What a rule found: the entry (by kind and 0-based index, with a label) and what is wrong. */
export interface Problem {
  kind: FileKind;
  /** 0-based index in its list; null: the file (or the inventory) as a whole. */
  index: number | null;
  /** "(uts#11)", "(pid 100)": how the entry calls itself. */
  label: string;
  what: string;
}

/** Everything a rule may look up, built once. `byId[id]` is the namespace with image id `id`. */
export interface Index {
  img: Image;
  byId: (Namespace | undefined)[];
}

export type Rule = (ix: Index) => Problem | undefined;

/** The kernel refuses time offsets beyond ±KTIME_SEC_MAX/2 (timens_set_vm_offsets). */
export const KTIME_SEC_MAX_HALF = 4_611_686_018;
/** user_namespaces(7): an id map takes at most 340 lines (since 4.15). */
export const MAX_MAP_LINES = 340;
/** __NEW_UTS_LEN: hostname and domainname are at most 64 bytes. */
export const MAX_NAME_BYTES = 64;

const nsAt = (n: Namespace, i: number, what: string): Problem => ({ kind: 'namespaces', index: i, label: `(${n.type}#${n.id})`, what });

function firstNs(ix: Index, check: (n: Namespace, i: number) => string | undefined): Problem | undefined {
  const list = ix.img.namespaces;
  for (let i = 0; i < list.length; i++) {
    const what = check(list[i]!, i);
    if (what !== undefined) return nsAt(list[i]!, i, what);
  }
  return undefined;
}

// ---- namespaces: ids and references ------------------------------------------------------------

/** Image ids are 1, 2, 3… in file order: every other rule finds a namespace by its id. */
export function namespaceIdsAreDense(ix: Index): Problem | undefined {
  return firstNs(ix, (n, i) => (n.id !== i + 1 ? `id ${n.id} out of sequence (expected ${i + 1})` : undefined));
}

/**
 * An owner is an earlier user namespace, a parent an earlier namespace of the same type, and only
 * user and pid namespaces have parents. "Earlier" is what the dumper writes (owners and parents
 * first), and it makes a cycle of owners and parents impossible.
 */
export function ownersAndParentsResolveBackwards(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.parent !== null && !isHierarchical(n.type)) return `a ${n.type} namespace has no parent, yet parent ${n.parent} is set`;
    for (const [field, ref, type] of [['owner', n.owner, 'user'], ['parent', n.parent, n.type]] as const) {
      if (ref === null) continue;
      const target = ix.byId[ref];
      if (!target) return `${field} ${ref} does not exist`;
      if (ref >= n.id) return `${field} ${ref} must come before the namespace it relates to (so that owners and parents cannot form a cycle)`;
      if (target.type !== type) return `${field} ${ref} is a ${target.type} namespace, expected ${type}`;
    }
    return undefined;
  });
}

/** The kernel's owner of a user namespace is its parent (NS_GET_USERNS and NS_GET_PARENT agree). */
export function userOwnerIsItsParent(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => (n.type === 'user' && n.owner !== n.parent ? `owner ${n.owner ?? 'none'} differs from parent ${n.parent ?? 'none'}; a user namespace's owner is its parent` : undefined));
}

/**
 * A namespace to create names its owner, and a user or pid namespace its parent, unless the image
 * says they lie beyond the dumper's scope (that case is the planner's: it cannot be made from here).
 */
export function missingOwnersAndParentsAreExplained(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.inScope) return undefined;
    if (n.owner === null && !n.ownerBeyondScope) return 'has no owning user namespace, and the image does not say it lies beyond the scope';
    if (isHierarchical(n.type) && n.parent === null && !n.parentBeyondScope) return `a ${n.type} namespace to create needs its parent, and the image has none`;
    return undefined;
  });
}

/**
 * Nesting within the kernel's limits (32 pid levels below the initial one, 33 user levels), the
 * recorded `level` too (it counts from the outermost namespace the dumper saw, which may lie below
 * the image's, so it is bounded, not compared). Depths in one forward pass: parents
 * come first (ownersAndParentsResolveBackwards), so nothing here or later walks a chain.
 */
export function nestingWithinKernelLimits(ix: Index): Problem | undefined {
  const depth = new Uint32Array(ix.img.namespaces.length + 1);
  return firstNs(ix, (n) => {
    if (!isHierarchical(n.type)) return undefined;
    const d = n.parent === null ? 0 : depth[n.parent]! + 1;
    depth[n.id] = d;
    const max = n.type === 'user' ? MAX_USER_LEVEL : MAX_PID_LEVEL;
    if (d > max) return `${n.type} namespace nested ${d} deep; the kernel allows ${max}`;
    const level = (n.state as { level?: number } | null)?.level;
    if (level !== undefined && level > max) return `level ${level} is beyond the kernel's ${max}`;
    return undefined;
  });
}

// ---- the dumper's scope ------------------------------------------------------------------------

/**
 * The inventory's scope names the dumper's own namespace of each type at most once; the one it
 * points at has that type and inode and is marked in scope, and nothing else is: a namespace
 * marked in scope is joined by a restore, never created.
 */
export function scopeNamesOneNamespacePerType(ix: Index): Problem | undefined {
  const inv = (what: string): Problem => ({ kind: 'inventory', index: null, label: '', what });
  const scoped = new Map<string, number | null>();
  for (const [i, s] of ix.img.inventory.scope.entries()) {
    if (scoped.has(s.type)) return inv(`scope entry ${i + 1} names a second ${s.type} namespace; the dumper stands in one of each type`);
    scoped.set(s.type, s.id);
    if (s.id === null) continue;
    const n = ix.byId[s.id];
    if (!n) return inv(`scope entry ${i + 1} (${s.type}): namespace ${s.id} does not exist`);
    if (n.type !== s.type) return inv(`scope entry ${i + 1} (${s.type}): namespace ${s.id} is a ${n.type} namespace`);
    if (n.inode !== s.inode) return inv(`scope entry ${i + 1} (${s.type}): inode ${s.inode} differs from namespace ${s.id}'s ${n.inode}`);
    if (!n.inScope) return inv(`scope entry ${i + 1} (${s.type}): namespace ${s.id} is not marked in scope`);
  }
  return firstNs(ix, (n) => (n.inScope && scoped.get(n.type) !== n.id ? `marked as the dumper's own ${n.type} namespace, but the scope names ${scoped.get(n.type) ?? 'none'}` : undefined));
}

// ---- namespaces: state -------------------------------------------------------------------------

/** Every interface's link_netns names a net namespace of the image. */
export function netLinksResolve(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.type !== 'net' || !n.state) return undefined;
    for (const l of n.state.interfaces) {
      if (l.linkNetns === null) continue;
      const target = ix.byId[l.linkNetns];
      if (!target || target.type !== 'net') return `interface ${l.name}: link_netns ${l.linkNetns} ${target ? `is a ${target.type} namespace` : 'does not exist'}`;
    }
    return undefined;
  });
}

function mapProblem(label: string, map: IdMapLine[]): string | undefined {
  if (map.length > MAX_MAP_LINES) return `${label} has ${map.length} lines; the kernel takes at most ${MAX_MAP_LINES}`;
  for (const [i, l] of map.entries()) {
    if (l.count === 0) return `${label} line ${i + 1} has count 0`;
    if (l.inside + l.count > 0x100000000 || l.outside + l.count > 0x100000000) return `${label} line ${i + 1} runs past 2^32`;
  }
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...map].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (a[side] + a.count > b[side]) return `${label} ranges overlap on the ${side} side (${a[side]}+${a.count} and ${b[side]}+${b.count})`;
    }
  }
  return undefined;
}

/** Id maps the kernel would take: at most 340 lines, no empty or overflowing line, no overlap. */
export function idMapsAreWellFormed(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.type !== 'user' || !n.state) return undefined;
    const s = n.state;
    return mapProblem('uid_map', s.uidMap) ?? mapProblem('gid_map', s.gidMap) ?? mapProblem('projid_map', s.projidMap);
  });
}

export function hostnamesFitTheKernel(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.type !== 'uts' || !n.state) return undefined;
    const s = n.state;
    const k = (['hostname', 'domainname'] as const).find((f) => kernelBytes(s[f]).length > MAX_NAME_BYTES);
    return k && `${k} is ${kernelBytes(s[k]).length} bytes; the kernel takes at most ${MAX_NAME_BYTES}`;
  });
}

export function timeOffsetsInRange(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.type !== 'time' || !n.state) return undefined;
    const s = n.state;
    const k = (['monotonic', 'boottime'] as const).find((f) => Math.abs(s[f].seconds) > KTIME_SEC_MAX_HALF);
    return k && `${k} offset ${s[k].seconds} s is beyond the kernel's ±${KTIME_SEC_MAX_HALF} s`;
  });
}

const KNOWN_IPC = new Set<string>(IPC_SYSCTLS);
/** Only the ipc sysctls nsdump dumps, each a number (or the few numbers a vector sysctl holds). */
export function ipcSysctlsAreKnownNumbers(ix: Index): Problem | undefined {
  return firstNs(ix, (n) => {
    if (n.type !== 'ipc' || !n.state) return undefined;
    for (const [k, v] of Object.entries(n.state.sysctls)) {
      if (!KNOWN_IPC.has(k)) return `unknown ipc sysctl ${JSON.stringify(k)}`;
      if (!/^-?\d+( -?\d+){0,3}$/.test(v)) return `${k} = ${JSON.stringify(v)} is not a number`;
    }
    return undefined;
  });
}

// ---- processes and threads ---------------------------------------------------------------------

/** One entry per process, one per thread, and every thread belongs to a process of the image. */
export function pidsAreUnique(ix: Index): Problem | undefined {
  const pids = new Set<number>();
  for (const [i, p] of ix.img.processes.entries()) {
    if (pids.has(p.pid)) return { kind: 'processes', index: i, label: `(pid ${p.pid})`, what: `pid ${p.pid} appears twice` };
    pids.add(p.pid);
  }
  const tids = new Set<number>();
  for (const [i, t] of ix.img.threads.entries()) {
    const at = (what: string): Problem => ({ kind: 'threads', index: i, label: `(tid ${t.tid})`, what });
    if (tids.has(t.tid)) return at(`tid ${t.tid} appears twice`);
    tids.add(t.tid);
    if (!pids.has(t.pid)) return at(`its process ${t.pid} is not in the image`);
  }
  return undefined;
}

function linksProblem(r: NsRefs, ix: Index): string | undefined {
  for (const link of NS_LINKS) {
    const ref = r[link];
    // Only pid_for_children may be absent (between unshare(CLONE_NEWPID) and the first fork);
    // time_for_children is tolerated absent too: a restore then uses the time namespace itself.
    if (ref === null) {
      if (link === 'pid_for_children' || link === 'time_for_children') continue;
      return `has no ${link} namespace (link 0): every process is in one of each type`;
    }
    const want = linkType(link);
    const target = ix.byId[ref];
    if (!target || target.type !== want) return `${link} ${ref} ${target ? `is a ${target.type} namespace` : 'does not exist'}`;
  }
  return undefined;
}

/** Each process and thread is in one namespace of each of the eight types, and its links resolve. */
export function processLinksResolve(ix: Index): Problem | undefined {
  for (const [kind, list] of [['processes', ix.img.processes], ['threads', ix.img.threads]] as const) {
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      const what = linksProblem(p.namespaces, ix);
      if (what !== undefined) return { kind, index: i, label: kind === 'processes' ? `(pid ${p.pid})` : `(tid ${(p as { tid: number }).tid})`, what };
    }
  }
  return undefined;
}

/** The pid given to `nsdump dump` is among the processes; an image of `dump --all` names none. */
export function rootIsAmongTheProcesses(ix: Index): Problem | undefined {
  const root = ix.img.inventory.rootPid;
  if (root === null || ix.img.processes.some((p) => p.pid === root)) return undefined;
  return { kind: 'processes', index: null, label: '', what: `the root pid ${root} (inventory) is not among its ${ix.img.processes.length} processes` };
}

/** Following ppid inside the image ends: a loop of parents is no process tree (iteratively, colour by colour). */
export function processTreeHasNoCycle(ix: Index): Problem | undefined {
  const procs = ix.img.processes;
  // Each pid's entry (the last, should a pid appear twice); the walk goes by entry index, and what
  // is known of each entry is a byte: 1, on the walk now; 2, known to end. (Maps from pid to parent
  // and to state, and a walk list per process, were most of this rule's time at 100,000 processes.)
  const at = new Map<number, number>();
  for (let i = 0; i < procs.length; i++) at.set(procs[i]!.pid, i);
  const state = new Uint8Array(procs.length);
  const walk: number[] = [];
  for (const p of procs) {
    walk.length = 0;
    for (let i = at.get(p.pid); i !== undefined && state[i] !== 2; i = at.get(procs[i]!.ppid)) {
      if (state[i] === 1) {
        const loop = walk.slice(walk.indexOf(i)).map((w) => procs[w]!.pid);
        const pid = procs[i]!.pid;
        return { kind: 'processes', index: i, label: `(pid ${pid})`, what: `its parents form a loop: ${[...loop, pid].join(' → ')}` };
      }
      state[i] = 1;
      walk.push(i);
    }
    for (const w of walk) state[w] = 2;
  }
  return undefined;
}

/**
 * In the order they run: the structural rules first, as the later ones rely on them. Keyed by the
 * name a message gives in brackets (a table, not Function.name: the bundle's minifier renames).
 */
export const IMAGE_RULES: Readonly<Record<string, Rule>> = {
  namespaceIdsAreDense,
  ownersAndParentsResolveBackwards,
  userOwnerIsItsParent,
  missingOwnersAndParentsAreExplained,
  nestingWithinKernelLimits,
  scopeNamesOneNamespacePerType,
  netLinksResolve,
  idMapsAreWellFormed,
  hostnamesFitTheKernel,
  timeOffsetsInRange,
  ipcSysctlsAreKnownNumbers,
  pidsAreUnique,
  processLinksResolve,
  rootIsAmongTheProcesses,
  processTreeHasNoCycle,
};

/** The first problem of an image, or undefined when it is sound. */
export function findProblem(img: Image): { rule: string; problem: Problem } | undefined {
  const byId: (Namespace | undefined)[] = [undefined];
  for (const n of img.namespaces) byId.push(n);
  // Ids are checked dense by the first rule; until then nothing else looks a namespace up.
  const ix: Index = { img, byId };
  for (const [rule, check] of Object.entries(IMAGE_RULES)) {
    const problem = check(ix);
    if (problem) return { rule, problem };
  }
  return undefined;
}

/** Throws the first problem as one ImageError: `<where>: entry N (label): <what> [rule]`. */
export function validateImage(img: Image, locate: Locate): void {
  const found = findProblem(img);
  if (!found) return;
  const { rule, problem: p } = found;
  const entry = p.index === null ? '' : `entry ${p.index + 1}${p.label ? ` ${p.label}` : ''}: `;
  throw new ImageError(`${locate(p.kind)}: ${entry}${p.what} [${rule}]`);
}
