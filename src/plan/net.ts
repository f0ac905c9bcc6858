// Why: what a restore does inside the network namespaces it made, decided from the image alone
// (pure, so every rule is unit-testable): which links it creates and where, in an order the
// kernel accepts (a link before its ports, vlans and routes; addresses once links are up; routes
// before the policy rules that send traffic to their tables), and
// which links it leaves to the orchestrator because their other end lies outside what it makes —
// the executor's own network namespace included: a restore never changes the network it runs in,
// unless an `--external` mapping asks for exactly one end there.
import { IfName, type Image, type NetInterface, type NamespaceOf, type StateOf } from '../model/image.js';
import { kernelMadeAddress, kernelMadeRoute, ruleText, tableName } from '../model/net.js';
import type { NetOp, NetPlan } from './schema.js';

/** Kinds a restore makes; everything else is listed as external. */
export const CREATED_KINDS = ['veth', 'bridge', 'dummy', 'vlan', 'macvlan'] as const;
// The zod schemas of the ops (NetOp, NetPlan) are in schema.ts, with the rest of the plan's: a
// restore builds the plan and never parses one, and need not construct them at every start.

/** `--external veth:NAME[@NETNS]=HOSTNAME`: make the external veth NAME with its other end HOSTNAME in the executor's own network namespace. */
export interface ExternalMapping {
  kind: 'veth';
  name: string;
  /** Image id of the net namespace NAME is in, when the name alone is ambiguous. */
  netns: number | null;
  host: string;
}

export class ExternalMappingError extends Error {
  override readonly name = 'ExternalMappingError';
}

/** Parse one `--external` value. */
export function parseExternal(spec: string): ExternalMapping {
  const m = /^veth:([^@=]+)(?:@(\d+))?=(.+)$/.exec(spec);
  if (!m) throw new ExternalMappingError(`--external ${spec}: expected veth:NAME[@NETNS]=HOSTNAME`);
  for (const n of [m[1]!, m[3]!]) if (!IfName.safeParse(n).success) throw new ExternalMappingError(`--external ${spec}: ${JSON.stringify(n)} is not an interface name`);
  return { kind: 'veth', name: m[1]!, netns: m[2] === undefined ? null : Number(m[2]), host: m[3]! };
}

const LOOPBACK_MTU = 65536;
const DEFAULT_MTU = 1500;

const isLoopback = (l: NetInterface) => l.flags.includes('LOOPBACK');

export function planNet(img: Image, mappings: ExternalMapping[] = []): NetPlan {
  const ids = new Map(img.namespaces.map((n) => [n.id, n]));
  const nets = img.namespaces.filter((n): n is NamespaceOf<'net'> & { state: StateOf<'net'> } => n.type === 'net' && !n.inScope && n.state !== null);
  const plan: NetPlan = { ops: [], sysctls: [], external: [], skipped: [] };
  const links: Extract<NetOp, { op: 'link' }>[] = [];
  const later: NetPlan['ops'] = [];
  /** `${ns}/${name}` of every link that will exist (lo and what is created). */
  const made = new Set<string>();
  /** Where each mapping was used (more than one namespace: ambiguous). */
  const used = new Map<ExternalMapping, number[]>();
  const stateOf = (ns: number | null) => {
    const n = ns === null ? undefined : ids.get(ns);
    return n?.type === 'net' ? (n.state ?? undefined) : undefined;
  };
  const mappingFor = (ns: number, name: string) => {
    const found = mappings.filter((m) => m.name === name && (m.netns === null || m.netns === ns));
    return found[0];
  };

  for (const n of nets) {
    const s = n.state;
    const byIndex = new Map(s.interfaces.map((l) => [l.index, l]));
    const external = (l: NetInterface, why: string) => {
      const m = l.kind === 'veth' ? mappingFor(n.id, l.name) : undefined;
      if (m) {
        used.set(m, [...(used.get(m) ?? []), n.id]);
        made.add(`${n.id}/${l.name}`);
        links.push({ op: 'link', ns: n.id, kind: 'veth', name: l.name, mac: l.mac, mtu: l.mtu, peer: { ns: null, name: m.host, mac: '', mtu: l.mtu }, parent: null, vlanId: 0, macvlanMode: '' });
        return;
      }
      plan.external.push({ ns: n.id, name: l.name, kind: l.kind || 'device', why });
    };
    for (const l of s.interfaces) {
      if (isLoopback(l)) {
        made.add(`${n.id}/${l.name}`);
        if (l.mtu !== LOOPBACK_MTU) later.push({ op: 'mtu', ns: n.id, name: l.name, mtu: l.mtu });
        continue;
      }
      const base = { op: 'link' as const, ns: n.id, name: l.name, mac: l.mac, mtu: l.mtu, peer: null, parent: null, vlanId: 0, macvlanMode: '' };
      switch (l.kind) {
        case 'veth': {
          if (l.linkOutside) {
            external(l, 'its peer is in a network namespace outside the dump');
            break;
          }
          const peerNs = l.linkNetns ?? n.id;
          if (ids.get(peerNs)?.inScope) {
            external(l, "its peer is in the executor's own network namespace, which a restore never changes");
            break;
          }
          const peer = stateOf(peerNs)?.interfaces.find((p) => p.index === l.link && p.kind === 'veth');
          if (!peer) {
            external(l, `its peer (ifindex ${l.link} in net#${peerNs}) was not recorded`);
            break;
          }
          // Each pair once: from the end that sorts first by (namespace, ifindex).
          if (peerNs < n.id || (peerNs === n.id && peer.index < l.index)) break;
          made.add(`${n.id}/${l.name}`);
          made.add(`${peerNs}/${peer.name}`);
          links.push({ ...base, kind: 'veth', peer: { ns: peerNs, name: peer.name, mac: peer.mac, mtu: peer.mtu } });
          break;
        }
        case 'bridge':
          made.add(`${n.id}/${l.name}`);
          // A bridge's mtu follows its ports unless set: set once the ports are in (below).
          links.push({ ...base, kind: 'bridge', mtu: 0 });
          if (l.mtu !== DEFAULT_MTU) later.push({ op: 'mtu', ns: n.id, name: l.name, mtu: l.mtu });
          break;
        case 'dummy':
          made.add(`${n.id}/${l.name}`);
          links.push({ ...base, kind: 'dummy' });
          break;
        case 'vlan':
        case 'macvlan': {
          const parent = l.linkNetns === null && !l.linkOutside ? byIndex.get(l.link) : undefined;
          if (!parent) {
            external(l, 'its parent link is in another network namespace');
            break;
          }
          made.add(`${n.id}/${l.name}`);
          links.push({ ...base, kind: l.kind, parent: parent.name, vlanId: l.vlanId, macvlanMode: l.macvlanMode });
          break;
        }
        case '':
          external(l, 'a device given to the namespace, not made in it');
          break;
        default:
          external(l, `links of kind ${l.kind} are not recreated`);
      }
    }
  }
  // A vlan or macvlan needs its parent first: parents (any kind) before children, else image order.
  const ordered: Extract<NetOp, { op: 'link' }>[] = [];
  const placed = new Set<string>();
  const key = (op: Extract<NetOp, { op: 'link' }>) => `${op.ns}/${op.name}`;
  const pending = links;
  for (let progress = true; pending.length && progress; ) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const op = pending[i]!;
      const ready = op.parent === null || placed.has(`${op.ns}/${op.parent}`) || !made.has(`${op.ns}/${op.parent}`);
      if (!ready) continue;
      ordered.push(op);
      placed.add(key(op));
      if (op.peer && op.peer.ns !== null) placed.add(`${op.peer.ns}/${op.peer.name}`);
      pending.splice(i--, 1);
      progress = true;
    }
  }
  ordered.push(...pending);
  for (const op of ordered) {
    // A parent that is itself external is not made: then neither is its child.
    if (op.parent !== null && !made.has(`${op.ns}/${op.parent}`)) {
      made.delete(key(op));
      plan.external.push({ ns: op.ns, name: op.name, kind: op.kind, why: `its parent ${op.parent} is not recreated` });
      continue;
    }
    plan.ops.push(op);
  }

  for (const n of nets) {
    const s = n.state;
    const byIndex = new Map(s.interfaces.map((l) => [l.index, l]));
    const has = (name: string) => made.has(`${n.id}/${name}`);
    for (const l of s.interfaces) {
      if (!l.master || !has(l.name)) continue;
      const m = byIndex.get(l.master);
      if (m && has(m.name)) plan.ops.push({ op: 'master', ns: n.id, name: l.name, master: m.name });
    }
  }
  plan.ops.push(...later);
  for (const n of nets) {
    // Loopback first: services bound to 127.0.0.1 need nothing else.
    for (const l of [...n.state.interfaces].sort((a, b) => Number(isLoopback(b)) - Number(isLoopback(a)))) {
      if (l.flags.includes('UP') && made.has(`${n.id}/${l.name}`)) plan.ops.push({ op: 'up', ns: n.id, name: l.name });
    }
  }
  for (const n of nets) {
    for (const l of n.state.interfaces) {
      if (!made.has(`${n.id}/${l.name}`)) continue;
      for (const a of l.addresses) {
        if (kernelMadeAddress(a)) continue;
        plan.ops.push({ op: 'address', ns: n.id, dev: l.name, family: a.family, address: a.address, prefixLen: a.prefixLen, peer: a.peer, broadcast: a.broadcast, label: a.label, scope: a.scope, noprefixroute: a.flags.includes('noprefixroute') });
      }
    }
  }
  for (const n of nets) {
    for (const r of n.state.routes) {
      if (kernelMadeRoute(r)) continue;
      const what = `route ${r.dst ? `${r.dst}/${r.dstLen}` : 'default'}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.table === 254 ? '' : ` table ${tableName(r.table)}`}`;
      if (r.complex) {
        plan.skipped.push({ ns: n.id, what, why: 'multipath and encapsulated routes are not recreated' });
        continue;
      }
      if (r.dev && !made.has(`${n.id}/${r.dev}`)) {
        plan.skipped.push({ ns: n.id, what, why: `its link ${r.dev} is not recreated` });
        continue;
      }
      const { complex: _c, ...rest } = r;
      plan.ops.push({ op: 'route', ns: n.id, ...rest });
    }
    // Rules after the routes of the tables they look up: the kernel takes a rule whatever the
    // table holds (and names of links that do not exist), but traffic is never sent to a table
    // still being filled. Defaults the dumped namespace lacked go last.
    for (const r of n.state.rules) {
      if (r.complex) {
        plan.skipped.push({ ns: n.id, what: `rule ${ruleText(r)}`, why: 'rules with realms, tunnel ids, dscp or flow labels are not recreated' });
        continue;
      }
      const { complex: _c, ...rest } = r;
      plan.ops.push({ op: 'rule', ns: n.id, ...rest });
    }
    for (const r of n.state.missingDefaultRules) {
      const { complex: _c, ...rest } = r;
      plan.ops.push({ op: 'unrule', ns: n.id, ...rest });
    }
    const sysctls = Object.entries(n.state.sysctls).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (sysctls.length) plan.sysctls.push({ ns: n.id, sysctls });
  }
  for (const m of mappings) {
    const where = used.get(m) ?? [];
    const spec = `--external veth:${m.name}${m.netns === null ? '' : `@${m.netns}`}=${m.host}`;
    if (!where.length) throw new ExternalMappingError(`${spec}: no external veth of that name${m.netns === null ? '' : ` in net#${m.netns}`}`);
    if (where.length > 1) throw new ExternalMappingError(`${spec}: net#${where.join(', net#')} each have one; say which with veth:${m.name}@NETNS=${m.host}`);
  }
  return plan;
}
