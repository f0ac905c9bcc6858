// Why: what each Linux version first offered that nsdump uses, in one table, so that a plan for
// another kernel (`plan --kernel X.Y`) can say what that kernel cannot make, and the planner decides
// how to attach from the same facts. The running kernel is probed instead (kernel/features.ts).
import { NS_TYPES, SPECIES, type NsType } from './species.js';

export type KernelVersion = readonly [number, number];

export interface KernelFact {
  key: string;
  /** How a person names it. */
  what: string;
  since: KernelVersion;
  /** Who needs it: a plan to make an image's namespaces, restore's executor, atomic attach, or a dump (which does without, less exactly). */
  neededFor: 'make' | 'restore' | 'attach' | 'dump';
}

/** Namespace types come from the species table; the rest are calls nsdump makes. */
export const KERNEL_FACTS: readonly KernelFact[] = [
  ...NS_TYPES.map((t): KernelFact => ({ key: `ns:${t}`, what: `${t} namespaces`, since: SPECIES[t].since, neededFor: 'make' })),
  { key: 'pidfd_open', what: 'pidfd_open', since: [5, 3], neededFor: 'restore' },
  { key: 'setns-pidfd', what: 'setns(pidfd)', since: [5, 8], neededFor: 'attach' },
  { key: 'setns-pidfd-time', what: 'setns(pidfd) with CLONE_NEWTIME', since: [5, 9], neededFor: 'attach' },
  { key: 'pidfd-get-namespace', what: 'PIDFD_GET_*_NAMESPACE', since: [6, 11], neededFor: 'dump' },
  { key: 'ns-get-tgid-in-pidns', what: 'NS_GET_TGID_IN_PIDNS', since: [6, 11], neededFor: 'dump' },
  { key: 'ns-mnt-get-info', what: 'NS_MNT_GET_INFO', since: [6, 12], neededFor: 'dump' },
  { key: 'ns-get-id', what: 'NS_GET_ID', since: [6, 18], neededFor: 'dump' },
];

const FACT = new Map(KERNEL_FACTS.map((f) => [f.key, f]));

export function fact(key: string): KernelFact {
  const f = FACT.get(key);
  if (!f) throw new Error(`no kernel fact ${key}`);
  return f;
}

/** "6.18" → [6, 18]; undefined unless exactly two dot-separated numbers. */
export function parseKernelVersion(s: string): KernelVersion | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function atLeast(v: KernelVersion, since: KernelVersion): boolean {
  return v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
}

export function has(v: KernelVersion, key: string): boolean {
  return atLeast(v, fact(key).since);
}

export const versionText = (v: KernelVersion) => `${v[0]}.${v[1]}`;

/**
 * Why `kernel` cannot make these namespaces, as one sentence, or null when it can:
 * "Linux 4.0 cannot make time namespaces (5.6): time#8, time#9".
 */
export function cannotMake(kernel: KernelVersion, made: { type: NsType; id: number }[]): string | null {
  const missing: string[] = [];
  for (const t of NS_TYPES) {
    const f = fact(`ns:${t}`);
    const of = made.filter((n) => n.type === t);
    if (of.length && !atLeast(kernel, f.since)) missing.push(`${f.what} (${versionText(f.since)}): ${of.map((n) => `${n.type}#${n.id}`).join(', ')}`);
  }
  return missing.length ? `Linux ${versionText(kernel)} cannot make ${missing.join('; ')}` : null;
}
