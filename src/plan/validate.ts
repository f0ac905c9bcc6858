// Why: an image is validated rule by rule before anything is planned. Each rule is a named
// function that returns the problems it finds as "which file, which entry, what is wrong".
// Damaged content is exit code 3 (ImageError); a sound image that no plan can recreate is 8.
import { join } from 'node:path';
import { ImageError } from '../image/read.js';
import { FILES } from '../image/codec.js';
import type { IdMapLine, Image, Namespace, StateOf } from '../model/image.js';
import { MAX_PID_LEVEL, MAX_USER_LEVEL, SPECIES, isHierarchical } from '../model/species.js';
import { IPC_SYSCTLS } from '../model/ipc.js';

export class PlanError extends Error {
  override readonly name = 'PlanError';
}

type Problem = { entry: Namespace | null; what: string; fatal?: 'image' | 'plan' };
type Rule = (img: Image) => Problem[];

const KTIME_SEC_MAX_HALF = 4_611_686_018; // the kernel refuses time offsets beyond ±KTIME_SEC_MAX/2
const MAX_MAP_LINES = 340;
const MAX_NAME_BYTES = 64;

const byId = (img: Image) => new Map(img.namespaces.map((n) => [n.id, n]));
const created = (n: Namespace) => !n.inScope;

/**
 * Nesting depth (parent links walked) of every user and pid namespace, memoized: one pass over
 * the image, not a map and a walk per namespace (which was quadratic in a 10,000-namespace image).
 */
function depths(img: Image): Map<number, number> {
  const ids = byId(img);
  const memo = new Map<number, number>();
  for (const n of img.namespaces) {
    if (n.type !== 'user' && n.type !== 'pid') continue;
    // Walk up to something known, iteratively (a hostile image may be deep); a cycle is its own rule's.
    const chain: Namespace[] = [];
    const seen = new Set<number>();
    let top: number;
    for (let cur: Namespace = n; ; ) {
      const known = memo.get(cur.id);
      if (known !== undefined) {
        top = known + 1;
        break;
      }
      chain.push(cur);
      seen.add(cur.id);
      const parent = cur.parent === null ? undefined : ids.get(cur.parent);
      if (cur.parent === null) {
        top = 0;
        break;
      }
      if (!parent || seen.has(parent.id)) {
        top = 1;
        break;
      }
      cur = parent;
    }
    // `top` is the depth of the last namespace in the chain; each one below is one deeper.
    for (let i = chain.length - 1; i >= 0; i--) memo.set(chain[i]!.id, top + (chain.length - 1 - i));
  }
  return memo;
}

export function ownerAndParentGraphHasNoCycle(img: Image): Problem[] {
  const ids = byId(img);
  const out: Problem[] = [];
  for (const n of img.namespaces) {
    const seen = new Set<number>([n.id]);
    for (let cur = n; ; ) {
      const next = cur.type === 'user' ? cur.parent : cur.owner;
      if (next === null) break;
      if (seen.has(next)) {
        out.push({ entry: n, what: `owner/parent cycle through ${[...seen].join(' → ')} → ${next}` });
        break;
      }
      seen.add(next);
      const nn = ids.get(next);
      if (!nn) break;
      cur = nn;
    }
  }
  return out;
}

export function everyCreatedNamespaceHasAnOwner(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && n.owner === null)
    .map((n) => ({
      entry: n,
      what: n.ownerBeyondScope
        ? `owned by a user namespace beyond the dumper's scope: it cannot be recreated from here (dump from an outer namespace)`
        : 'has no owning user namespace',
      fatal: n.ownerBeyondScope ? ('plan' as const) : ('image' as const),
    }));
}

export function createdUserAndPidNamespacesHaveParents(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && isHierarchical(n.type) && n.parent === null)
    .map((n) => ({ entry: n, what: `a ${n.type} namespace to create needs its parent, and the image has none`, fatal: n.parentBeyondScope ? ('plan' as const) : ('image' as const) }));
}

export function parentsHaveTheSameType(img: Image): Problem[] {
  const ids = byId(img);
  return img.namespaces.flatMap((n) => {
    if (n.parent === null) return [];
    if (n.type !== 'user' && n.type !== 'pid') return [{ entry: n, what: `a ${n.type} namespace has no parent, yet parent ${n.parent} is set` }];
    const p = ids.get(n.parent);
    return p && p.type !== n.type ? [{ entry: n, what: `parent ${n.parent} is a ${p.type} namespace` }] : [];
  });
}

export function ownersAreUserNamespaces(img: Image): Problem[] {
  const ids = byId(img);
  return img.namespaces.flatMap((n) => {
    const o = n.owner === null ? undefined : ids.get(n.owner);
    return o && o.type !== 'user' ? [{ entry: n, what: `owner ${n.owner} is a ${o.type} namespace, not a user namespace` }] : [];
  });
}

export function userNestingWithinKernelLimit(img: Image): Problem[] {
  const d = depths(img);
  return img.namespaces
    .filter((n) => n.type === 'user' && d.get(n.id)! > MAX_USER_LEVEL)
    .map((n) => ({ entry: n, what: `user namespace nested ${d.get(n.id)} deep; the kernel allows ${MAX_USER_LEVEL}` }));
}

export function pidNestingWithinKernelLimit(img: Image): Problem[] {
  const d = depths(img);
  return img.namespaces
    .filter((n) => n.type === 'pid' && d.get(n.id)! > MAX_PID_LEVEL)
    .map((n) => ({ entry: n, what: `pid namespace nested ${d.get(n.id)} deep; the kernel allows ${MAX_PID_LEVEL}` }));
}

function mapProblems(label: string, map: IdMapLine[]): string[] {
  const out: string[] = [];
  if (map.length > MAX_MAP_LINES) out.push(`${label} has ${map.length} lines; the kernel takes at most ${MAX_MAP_LINES}`);
  map.forEach((l, i) => {
    if (l.count === 0) out.push(`${label} line ${i + 1} has count 0`);
    if (l.inside + l.count > 0x100000000 || l.outside + l.count > 0x100000000) out.push(`${label} line ${i + 1} runs past 2^32`);
  });
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...map].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (a[side] + a.count > b[side]) out.push(`${label} ranges overlap on the ${side} side (${a[side]}+${a.count} and ${b[side]}+${b.count})`);
    }
  }
  return out;
}

export function idMapsAreWellFormed(img: Image): Problem[] {
  return img.namespaces.flatMap((n) => {
    if (n.type !== 'user' || !n.state) return [];
    const s = n.state as StateOf<'user'>;
    return [...mapProblems('uid_map', s.uidMap), ...mapProblems('gid_map', s.gidMap), ...mapProblems('projid_map', s.projidMap)].map((what) => ({ entry: n, what }));
  });
}

export function hostnamesFitTheKernel(img: Image): Problem[] {
  return img.namespaces.flatMap((n) => {
    if (n.type !== 'uts' || !n.state) return [];
    const s = n.state as StateOf<'uts'>;
    return (['hostname', 'domainname'] as const)
      .filter((k) => Buffer.byteLength(s[k]) > MAX_NAME_BYTES)
      .map((k) => ({ entry: n, what: `${k} is ${Buffer.byteLength(s[k])} bytes; the kernel takes at most ${MAX_NAME_BYTES}` }));
  });
}

export function timeOffsetsInRange(img: Image): Problem[] {
  return img.namespaces.flatMap((n) => {
    if (n.type !== 'time' || !n.state) return [];
    const s = n.state as StateOf<'time'>;
    return (['monotonic', 'boottime'] as const)
      .filter((k) => Math.abs(s[k].seconds) > KTIME_SEC_MAX_HALF)
      .map((k) => ({ entry: n, what: `${k} offset ${s[k].seconds} s is beyond the kernel's ±${KTIME_SEC_MAX_HALF} s` }));
  });
}

export function ipcSysctlsAreKnownNumbers(img: Image): Problem[] {
  const known = new Set<string>(IPC_SYSCTLS);
  return img.namespaces.flatMap((n) => {
    if (n.type !== 'ipc' || !n.state) return [];
    return Object.entries((n.state as StateOf<'ipc'>).sysctls).flatMap(([k, v]) => {
      if (!known.has(k)) return [{ entry: n, what: `unknown ipc sysctl ${JSON.stringify(k)}` }];
      if (!/^-?\d+( -?\d+){0,3}$/.test(v)) return [{ entry: n, what: `${k} = ${JSON.stringify(v)} is not a number` }];
      return [];
    });
  });
}

/** State a plan must set is there (a namespace read "not from this scope" cannot be recreated faithfully). */
export function createdNamespacesHaveTheirState(img: Image): Problem[] {
  return img.namespaces
    .filter((n) => created(n) && SPECIES[n.type].needsState && n.state === null)
    .map((n) => ({ entry: n, what: `its state was not recorded (${n.stateNote || 'no note'}): a plan cannot set it`, fatal: 'plan' as const }));
}

/** `dump --all` records every process of a host: no one tree a restore could replay. */
export function wholeHostImagesHaveNoTreeToReplay(img: Image): Problem[] {
  if (img.inventory.rootPid !== null) return [];
  return [{ entry: null, what: 'a whole-host image (nsdump dump --all) has no root process, so no tree to recreate: dump the tree to restore', fatal: 'plan' }];
}

export const RULES: Rule[] = [
  wholeHostImagesHaveNoTreeToReplay,
  ownerAndParentGraphHasNoCycle,
  ownersAreUserNamespaces,
  parentsHaveTheSameType,
  everyCreatedNamespaceHasAnOwner,
  createdUserAndPidNamespacesHaveParents,
  userNestingWithinKernelLimit,
  pidNestingWithinKernelLimit,
  idMapsAreWellFormed,
  hostnamesFitTheKernel,
  timeOffsetsInRange,
  ipcSysctlsAreKnownNumbers,
  createdNamespacesHaveTheirState,
];

/** Throws the first problem found: ImageError (exit 3) for bad content, PlanError (8) for the rest. */
export function validateForPlan(dir: string, img: Image): void {
  for (const rule of RULES) {
    const [p] = rule(img);
    if (!p) continue;
    const where = p.entry ? `${join(dir, FILES.namespaces.name)}: entry ${p.entry.id} (${p.entry.type}#${p.entry.id})` : dir;
    const msg = `${where}: ${p.what} [${rule.name}]`;
    throw p.fatal === 'plan' ? new PlanError(msg) : new ImageError(msg);
  }
}
