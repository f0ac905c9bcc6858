// Why: what of a namespace a restore recreates decides what `diff` compares, and a change in it
// must read as a person would say it ("hostname "a" → "b""), so both live here, apart from the graph.
import { netStateOf, type NetInterface, type Namespace, type StateOf } from '../model/image.js';
import { quotedText, type HexBytes } from '../model/kernel-text.js';
import { kernelMadeAddress, kernelMadeRoute, ruleText, tableName } from '../model/net.js';

/**
 * The state a restore recreates (what `diff` compares). Not compared: the owner uid (the creator's
 * euid), levels (the graph already says them), cgroup roots and mount tables (a restore makes
 * these namespaces empty, at the executor's cgroup); of networks, ifindexes, operational flags
 * (RUNNING, LOWER_UP) and what the kernel adds by itself (IPv6 link-local addresses, the routes
 * that come with an address), which appear on their own schedule. Rules compare in order. `ids` resolves a veth's peer.
 */
export function restorableState(n: Namespace, ids?: Map<number, Namespace>): Record<string, unknown> | null {
  if (!n.state) return null;
  switch (n.type) {
    case 'user': {
      const u = n.state;
      return { uidMap: u.uidMap, gidMap: u.gidMap, projidMap: u.projidMap, setgroups: u.setgroups };
    }
    case 'uts':
    case 'time':
      return n.state;
    case 'ipc':
      return { sysctls: Object.fromEntries(Object.entries(n.state.sysctls).sort(([a], [b]) => (a < b ? -1 : 1))) };
    case 'net':
      return netState(n, n.state, ids);
    default:
      return null;
  }
}

/**
 * A network as names and words, so that it compares across images whatever the ifindexes and
 * image ids: each link by name (its peer by name and by where it lies: this namespace, another one
 * of the image, the dumper's own, outside), routes and addresses as `ip` would print them.
 */
function netState(n: Namespace, s: StateOf<'net'>, ids: Map<number, Namespace> | undefined): Record<string, unknown> {
  const byIndex = new Map(s.interfaces.map((l) => [l.index, l]));
  const links: Record<string, string> = {};
  for (const l of [...s.interfaces].sort((a, b) => (a.name < b.name ? -1 : 1))) links[l.name] = describeLink(n, l, byIndex, ids);
  const routes = s.routes
    .filter((r) => !kernelMadeRoute(r))
    .map((r) => `${r.type === 1 ? '' : `type ${r.type} `}${r.dst ? `${r.dst}/${r.dstLen}` : 'default'}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''} proto ${r.protocol} scope ${r.scope} metric ${r.priority}${r.prefsrc ? ` src ${r.prefsrc}` : ''}${r.table === 254 ? '' : ` table ${tableName(r.table)}`}${r.complex ? ' (multipath/encap)' : ''}`)
    .sort();
  // Rules in the kernel's order (by priority; equal priorities keep the order they were added in).
  const rules = [...s.rules.map(ruleText), ...s.missingDefaultRules.map((r) => `${ruleText(r)} (a default, deleted)`)];
  const sysctls = Object.fromEntries(Object.entries(s.sysctls).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { links, routes, rules, sysctls };
}

function describeLink(n: Namespace, l: NetInterface, byIndex: Map<number, NetInterface>, ids: Map<number, Namespace> | undefined): string {
  const bits = [l.kind || (l.flags.includes('LOOPBACK') ? 'loopback' : 'device'), l.flags.includes('UP') ? 'up' : 'down', `mtu ${l.mtu}`, `mac ${l.mac}`];
  if (l.kind === 'veth' || l.link) {
    let where: string;
    let peerName = `ifindex ${l.link}`;
    if (l.linkOutside) where = 'outside the image';
    else if (l.linkNetns === null) {
      where = 'this namespace';
      peerName = byIndex.get(l.link)?.name ?? peerName;
    } else {
      const other = ids?.get(l.linkNetns);
      where = other?.inScope ? "the dumper's own namespace" : 'another namespace of the image';
      const peer = netStateOf(other)?.interfaces.find((p) => p.index === l.link);
      if (peer) peerName = peer.name;
    }
    bits.push(`${l.kind === 'veth' ? 'peer' : 'on'} ${peerName} in ${where}`);
  }
  if (l.master) bits.push(`port of ${byIndex.get(l.master)?.name ?? `ifindex ${l.master}`}`);
  if (l.vlanId) bits.push(`vlan ${l.vlanId}`);
  if (l.macvlanMode) bits.push(`mode ${l.macvlanMode}`);
  const addrs = l.addresses.filter((a) => !kernelMadeAddress(a)).map((a) => `${a.address}/${a.prefixLen}${a.peer ? ` peer ${a.peer}` : ''}${a.broadcast ? ` brd ${a.broadcast}` : ''} scope ${a.scope}`).sort();
  if (addrs.length) bits.push(addrs.join(' '));
  return bits.join(', ');
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
    if (k === 'links') {
      const p = (x[k] ?? {}) as Record<string, string>;
      const q = (y[k] ?? {}) as Record<string, string>;
      for (const name of [...new Set([...Object.keys(p), ...Object.keys(q)])].sort()) {
        if (p[name] !== q[name]) parts.push(`link ${name} ${p[name] === undefined ? 'none' : `(${p[name]})`} → ${q[name] === undefined ? 'none' : `(${q[name]})`}`);
      }
    } else if (k === 'routes' || k === 'rules') {
      const word = k === 'routes' ? 'route' : 'rule';
      const p = (x[k] ?? []) as string[];
      const q = (y[k] ?? []) as string[];
      for (const r of p.filter((r) => !q.includes(r))) parts.push(`${word} ${r} → none`);
      for (const r of q.filter((r) => !p.includes(r))) parts.push(`${word} none → ${r}`);
      if (p.every((r) => q.includes(r)) && q.every((r) => p.includes(r))) parts.push(`${k} in another order: ${p.join('; ')} → ${q.join('; ')}`);
    } else if (k === 'sysctls') {
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
  if (v && typeof v === 'object' && 'hex' in v) return quotedText(v as HexBytes); // a hostname that is not UTF-8
  if (Array.isArray(v)) return `[${(v as { inside: number; outside: number; count: number }[]).map((l) => `${l.inside} ${l.outside} ${l.count}`).join(', ')}]`;
  if (v && typeof v === 'object' && 'seconds' in v) {
    const t = v as unknown as { seconds: number; nanoseconds: number };
    return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}s`;
  }
  return JSON.stringify(v);
}
