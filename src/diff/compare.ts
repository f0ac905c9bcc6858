// Why: two images describe the same namespaces when their graphs are isomorphic — same types,
// same owner and parent edges, same restorable state — and the same namespace sets are in use,
// whatever the kernel ids and pids. Each namespace gets a canonical signature built from its own
// content and its owner's and parent's signatures; the images are compared as multisets of those.
import type { Image, Namespace, NsRefs, StateOf } from '../model/image.js';
import { NS_TYPES } from '../model/species.js';

/**
 * The state a restore recreates (what `diff` compares). Not compared: the owner uid (the creator's
 * euid), levels (the graph already says them), cgroup roots, interfaces and mount tables (a
 * restore makes these namespaces empty, at the executor's cgroup).
 */
export function restorableState(n: Namespace): Record<string, unknown> | null {
  const s = n.state;
  if (!s) return null;
  switch (n.type) {
    case 'user': {
      const u = s as StateOf<'user'>;
      return { uidMap: u.uidMap, gidMap: u.gidMap, projidMap: u.projidMap, setgroups: u.setgroups };
    }
    case 'uts':
    case 'time':
      return s as Record<string, unknown>;
    case 'ipc':
      return { sysctls: Object.fromEntries(Object.entries((s as StateOf<'ipc'>).sysctls).sort(([a], [b]) => (a < b ? -1 : 1))) };
    default:
      return null;
  }
}

export interface Canon {
  /** image id → signature. */
  sig: Map<number, string>;
  /** A short readable name per signature: "uts ns owned by user#2(level 1)". */
  label: Map<string, string>;
}

export function canonical(img: Image): Canon {
  const ids = new Map(img.namespaces.map((n) => [n.id, n]));
  const sig = new Map<number, string>();
  const label = new Map<string, string>();
  const of = (id: number | null): string => {
    if (id === null) return '-';
    const known = sig.get(id);
    if (known) return known;
    const n = ids.get(id)!;
    // The dumper's own namespaces stand for whatever the executor has: compared by type only.
    const s = n.inScope
      ? `own:${n.type}`
      : JSON.stringify({ t: n.type, s: restorableState(n), o: n.type === 'user' ? null : of(n.owner), p: of(n.parent) });
    sig.set(id, s);
    return s;
  };
  for (const n of img.namespaces) of(n.id);
  for (const n of img.namespaces) {
    const s = sig.get(n.id)!;
    if (label.has(s)) continue;
    label.set(s, describe(n, ids));
  }
  return { sig, label };
}

function describe(n: Namespace, ids: Map<number, Namespace>): string {
  if (n.inScope) return `the dumper's own ${n.type} ns`;
  const chain: string[] = [];
  for (let u = n.type === 'user' ? n : n.owner === null ? undefined : ids.get(n.owner); u && !u.inScope; u = u.parent === null ? undefined : ids.get(u.parent)) chain.push('user');
  const depth = chain.length;
  const where = n.type === 'user' ? `user ns at level ${depth}` : `${n.type} ns owned by a user ns at level ${depth}`;
  if (n.type === 'uts' && n.state) return `${where} (hostname ${JSON.stringify((n.state as StateOf<'uts'>).hostname)})`;
  return where;
}

export function setSignature(refs: NsRefs, c: Canon): string {
  return NS_TYPES.map((t) => (refs[t] === null ? '-' : c.sig.get(refs[t]!)!)).join('|');
}

export interface Difference {
  kind: 'namespace-missing' | 'namespace-extra' | 'state' | 'set-missing' | 'set-extra';
  message: string;
}

function multiset(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** Structural key without state: what a namespace is, where it hangs. */
function shape(sig: string): string {
  if (sig.startsWith('own:')) return sig;
  const o = JSON.parse(sig) as { t: string; o: string | null; p: string };
  return JSON.stringify({ t: o.t, o: o.o, p: o.p });
}

/**
 * Differences from `a` to `b`. With `setsSubset`, b may use namespace sets a did not (a restore's
 * own helper processes); every set of a must still be in use in b.
 */
export function compareImages(a: Image, b: Image, opts: { setsSubset?: boolean } = {}): Difference[] {
  const ca = canonical(a);
  const cb = canonical(b);
  const out: Difference[] = [];
  const created = (img: Image, c: Canon) => img.namespaces.filter((n) => !n.inScope).map((n) => c.sig.get(n.id)!);
  const ma = multiset(created(a, ca));
  const mb = multiset(created(b, cb));
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [k, n] of ma) for (let i = (mb.get(k) ?? 0); i < n; i++) missing.push(k);
  for (const [k, n] of mb) for (let i = (ma.get(k) ?? 0); i < n; i++) extra.push(k);
  // A namespace on both sides in the same place but with other state is a state change.
  for (const m of [...missing]) {
    const j = extra.findIndex((e) => shape(e) === shape(m));
    if (j < 0) continue;
    const [e] = extra.splice(j, 1);
    missing.splice(missing.indexOf(m), 1);
    out.push({ kind: 'state', message: `${ca.label.get(m)}: ${stateChange(JSON.parse(m), JSON.parse(e!))}` });
  }
  for (const m of missing) out.push({ kind: 'namespace-missing', message: `only in the first: ${ca.label.get(m)}` });
  for (const e of extra) out.push({ kind: 'namespace-extra', message: `only in the second: ${cb.label.get(e)}` });

  const setsOf = (img: Image, c: Canon) => new Set([...img.processes, ...img.threads].map((p) => setSignature(p.namespaces, c)));
  const sa = setsOf(a, ca);
  const sb = setsOf(b, cb);
  for (const s of sa) if (!sb.has(s)) out.push({ kind: 'set-missing', message: `a namespace set in use only in the first: ${setLabel(s, ca)}` });
  if (!opts.setsSubset) for (const s of sb) if (!sa.has(s)) out.push({ kind: 'set-extra', message: `a namespace set in use only in the second: ${setLabel(s, cb)}` });
  return out;
}

function setLabel(s: string, c: Canon): string {
  return s
    .split('|')
    .map((sig, i) => (sig.startsWith('own:') ? null : `${NS_TYPES[i]}: ${c.label.get(sig) ?? sig}`))
    .filter(Boolean)
    .join('; ') || "all the dumper's own namespaces";
}

/** "hostname "a" → "b"", "uid_map … → …", field by field. */
function stateChange(sa: { s: Record<string, unknown> | null }, sb: { s: Record<string, unknown> | null }): string {
  const a = sa.s ?? {};
  const b = sb.s ?? {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const parts: string[] = [];
  for (const k of keys) {
    const va = a[k];
    const vb = b[k];
    if (JSON.stringify(va) === JSON.stringify(vb)) continue;
    if (k === 'sysctls') {
      const x = va as Record<string, string>;
      const y = vb as Record<string, string>;
      for (const name of [...new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})])].sort()) {
        if (x?.[name] !== y?.[name]) parts.push(`${name} ${JSON.stringify(x?.[name] ?? null)} → ${JSON.stringify(y?.[name] ?? null)}`);
      }
    } else {
      parts.push(`${k} ${fmt(va)} → ${fmt(vb)}`);
    }
  }
  return parts.join(', ');
}

function fmt(v: unknown): string {
  if (Array.isArray(v) && v.every((l) => l && typeof l === 'object' && 'inside' in l)) return `[${(v as { inside: number; outside: number; count: number }[]).map((l) => `${l.inside} ${l.outside} ${l.count}`).join(', ')}]`;
  if (v && typeof v === 'object' && 'seconds' in v) {
    const t = v as unknown as { seconds: number; nanoseconds: number };
    return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}s`;
  }
  return JSON.stringify(v);
}
