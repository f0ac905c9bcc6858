// Why: what of a namespace a restore recreates decides what `diff` compares, and a change in it
// must read as a person would say it ("hostname "a" → "b""), so both live here, apart from the graph.
import type { Namespace, StateOf } from '../model/image.js';

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

/**
 * Where the namespace is bind-mounted, sorted. Fd holders are left out: a restorer holds its
 * namespaces by fds of its own, which never match the dumped tree's.
 */
export function bindMounts(n: Namespace): string[] {
  return n.holders.flatMap((h) => (h.kind === 'bind' && h.path !== undefined ? [h.path] : [])).sort();
}

/** JSON with object keys sorted: two images may decode the same state with keys in another order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

/** "hostname "a" → "b"", "uid_map … → …", field by field; '' when the states are the same. */
export function stateChange(a: Record<string, unknown> | null, b: Record<string, unknown> | null): string {
  const x = a ?? {};
  const y = b ?? {};
  const parts: string[] = [];
  for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
    if (canonical(x[k]) === canonical(y[k])) continue;
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

/** "bind mounts "/run/netns/a" → none"; '' when both lists are the same. */
export function bindMountChange(a: string[], b: string[]): string {
  if (canonical(a) === canonical(b)) return '';
  const list = (paths: string[]) => (paths.length ? paths.map((p) => JSON.stringify(p)).join(', ') : 'none');
  return `bind mounts ${list(a)} → ${list(b)}`;
}

function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${(v as { inside: number; outside: number; count: number }[]).map((l) => `${l.inside} ${l.outside} ${l.count}`).join(', ')}]`;
  if (v && typeof v === 'object' && 'seconds' in v) {
    const t = v as unknown as { seconds: number; nanoseconds: number };
    return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}s`;
  }
  return JSON.stringify(v);
}
