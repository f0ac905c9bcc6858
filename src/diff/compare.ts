// Why: two images describe the same namespaces when their graphs are isomorphic — same types,
// same owner and parent edges, same restorable state — and the same namespace sets are in use,
// whatever the kernel ids and pids. Namespaces are paired in two passes: first by a full signature
// (type, state, and the owner's and parent's full signatures), then what is left by structure
// alone, so a changed hostname reads as one change, not as a namespace gone and another come.
import { createHash } from 'node:crypto';
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

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 32);

interface Side {
  img: Image;
  ids: Map<number, Namespace>;
  /** Full signature: type, state, owner's and parent's full signatures. */
  full: Map<number, string>;
  /** Structure only: type, owner's and parent's structural signatures. */
  shape: Map<number, string>;
}

function side(img: Image): Side {
  const ids = new Map(img.namespaces.map((n) => [n.id, n]));
  const full = new Map<number, string>();
  const shape = new Map<number, string>();
  // Images list owners and parents first, so one pass in order sees every reference resolved.
  for (const n of img.namespaces) {
    const ref = (m: Map<number, string>, id: number | null) => (id === null ? '-' : m.get(id) ?? '?');
    const owner = n.type === 'user' ? null : n.owner;
    // The dumper's own namespaces stand for whatever the executor has: compared by type only.
    if (n.inScope) {
      full.set(n.id, `own:${n.type}`);
      shape.set(n.id, `own:${n.type}`);
      continue;
    }
    shape.set(n.id, hash([n.type, ref(shape, owner), ref(shape, n.parent)]));
    full.set(n.id, hash([n.type, restorableState(n), ref(full, owner), ref(full, n.parent)]));
  }
  return { img, ids, full, shape };
}

/** A readable name: "uts ns owned by a user ns at level 2 (hostname "a")". */
export function describe(n: Namespace, ids: Map<number, Namespace>): string {
  if (n.inScope) return `the dumper's own ${n.type} ns`;
  let depth = 0;
  for (let u = n.type === 'user' ? n : n.owner === null ? undefined : ids.get(n.owner); u && !u.inScope; u = u.parent === null ? undefined : ids.get(u.parent)) depth++;
  const where = n.type === 'user' ? `user ns at level ${depth}` : `${n.type} ns owned by a user ns at level ${depth}`;
  if (n.type === 'uts' && n.state) return `${where} (hostname ${JSON.stringify((n.state as StateOf<'uts'>).hostname)})`;
  return where;
}

export interface Difference {
  kind: 'namespace-missing' | 'namespace-extra' | 'state' | 'set-missing' | 'set-extra';
  message: string;
}

/** Differences from `a` to `b`; none means equivalent. */
export function compareImages(a: Image, b: Image): Difference[] {
  const A = side(a);
  const B = side(b);
  const out: Difference[] = [];
  const created = (s: Side) => s.img.namespaces.filter((n) => !n.inScope);
  // b's namespace id → the a namespace it stands for.
  const pairOf = new Map<number, number>();
  let restA = created(A);
  let restB = created(B);
  // Pass 1: the same namespace, state and all. Pass 2: the same place, other state.
  for (const key of ['full', 'shape'] as const) {
    const pool = new Map<string, Namespace[]>();
    for (const n of restB) pool.set(B[key].get(n.id)!, [...(pool.get(B[key].get(n.id)!) ?? []), n]);
    const leftA: Namespace[] = [];
    for (const n of restA) {
      const cands = pool.get(A[key].get(n.id)!);
      if (!cands?.length) {
        leftA.push(n);
        continue;
      }
      // Prefer a partner with the same state (siblings of one shape may differ only in state).
      const same = cands.findIndex((c) => JSON.stringify(restorableState(c)) === JSON.stringify(restorableState(n)));
      const [m] = cands.splice(same >= 0 ? same : 0, 1);
      pairOf.set(m!.id, n.id);
      if (key === 'shape') {
        const change = stateChange(restorableState(n), restorableState(m!));
        if (change) out.push({ kind: 'state', message: `${describe(n, A.ids)}: ${change}` });
      }
    }
    restA = leftA;
    restB = [...pool.values()].flat();
  }
  for (const n of restA) out.push({ kind: 'namespace-missing', message: `only in the first: ${describe(n, A.ids)}` });
  for (const n of restB) out.push({ kind: 'namespace-extra', message: `only in the second: ${describe(n, B.ids)}` });

  // Sets in use, named by the a-namespaces they consist of (b's translated through the pairing).
  const setKey = (refs: NsRefs, s: Side, translate: boolean) =>
    NS_TYPES.map((t) => {
      const id = refs[t];
      if (id === null) return '-';
      const n = s.ids.get(id)!;
      if (n.inScope) return `own:${t}`;
      const aid = translate ? pairOf.get(id) : id;
      return aid === undefined ? `b:${id}` : `a:${aid}`;
    }).join('|');
  // The set made only of the dumper's own namespaces is not compared: whoever dumps or restores
  // lives there (a restore's own processes always do), and it has nothing to create or join.
  const isOwn = (k: string) => k.split('|').every((x) => x.startsWith('own:') || x === '-');
  const setsOf = (s: Side, translate: boolean) => {
    const m = new Map<string, NsRefs>();
    for (const p of [...s.img.processes, ...s.img.threads]) {
      const k = setKey(p.namespaces, s, translate);
      if (!isOwn(k) && !m.has(k)) m.set(k, p.namespaces);
    }
    return m;
  };
  const sa = setsOf(A, false);
  const sb = setsOf(B, true);
  const label = (refs: NsRefs, s: Side) =>
    NS_TYPES.filter((t) => refs[t] !== null && !s.ids.get(refs[t]!)!.inScope)
      .map((t) => `${t}: ${describe(s.ids.get(refs[t]!)!, s.ids)}`)
      .join('; ');
  for (const [k, refs] of sa) if (!sb.has(k)) out.push({ kind: 'set-missing', message: `a namespace set in use only in the first: ${label(refs, A)}` });
  for (const [k, refs] of sb) if (!sa.has(k)) out.push({ kind: 'set-extra', message: `a namespace set in use only in the second: ${label(refs, B)}` });
  return out;
}

/** "hostname "a" → "b"", "uid_map … → …", field by field; '' when the states are the same. */
function stateChange(a: Record<string, unknown> | null, b: Record<string, unknown> | null): string {
  const x = a ?? {};
  const y = b ?? {};
  const parts: string[] = [];
  for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
    if (JSON.stringify(x[k]) === JSON.stringify(y[k])) continue;
    if (k === 'sysctls') {
      const p = (x[k] ?? {}) as Record<string, string>;
      const q = (y[k] ?? {}) as Record<string, string>;
      for (const name of [...new Set([...Object.keys(p), ...Object.keys(q)])].sort()) {
        if (p[name] !== q[name]) parts.push(`${name} ${JSON.stringify(p[name] ?? null)} → ${JSON.stringify(q[name] ?? null)}`);
      }
    } else {
      parts.push(`${k.replace(/Map$/, '_map')} ${fmt(x[k])} → ${fmt(y[k])}`);
    }
  }
  return parts.join(', ');
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${(v as { inside: number; outside: number; count: number }[]).map((l) => `${l.inside} ${l.outside} ${l.count}`).join(', ')}]`;
  if (v && typeof v === 'object' && 'seconds' in v) {
    const t = v as unknown as { seconds: number; nanoseconds: number };
    return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}s`;
  }
  return JSON.stringify(v);
}
