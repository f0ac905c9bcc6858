// Why: the plan's network operations as iproute2 command lines. Each runs inside its restored
// network namespace through util-linux nsenter (the executor itself never enters one, and never
// touches its own network); a veth's other end is made in its namespace with `netns PATH`, a path
// to the executor's fd on it. Every value is one argument; names come keyword-first (`name X`,
// `dev X`) so that no interface name is read as an ip keyword.
import type { NetOp } from '../plan/schema.js';
import { ruleText } from '../model/net.js';

/** rtm_type numbers → the names `ip route` takes (it takes no numbers for types). */
const ROUTE_TYPES: Record<number, string> = { 1: 'unicast', 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit', 9: 'throw', 10: 'nat' };

export interface IpCommand {
  /** The net namespace (image id) to run in; null: the executor's own (only an --external veth's host end). */
  ns: number | null;
  argv: string[];
  /** For messages: the namespace and what the command does. */
  what: string;
}

/** The ip command for one operation; `path(ns)` reaches a restored net namespace. */
export function ipCommand(op: NetOp, path: (ns: number) => string): IpCommand {
  const at = `net#${op.ns}`;
  switch (op.op) {
    case 'link': {
      const props = (mac: string, mtu: number) => [...(mac ? ['address', mac] : []), ...(mtu ? ['mtu', String(mtu)] : [])];
      if (op.kind === 'veth' && op.peer && op.peer.ns === null) {
        // An --external mapping: the host end is made here, in the executor's own namespace, and the end of the dump moved in.
        return {
          ns: null,
          argv: ['ip', 'link', 'add', 'name', op.peer.name, 'type', 'veth', 'peer', 'name', op.name, ...props(op.mac, op.mtu), 'netns', path(op.ns)],
          what: `${at}: veth ${op.name} with its other end ${op.peer.name} in the executor's own network namespace`,
        };
      }
      const argv = ['ip', 'link', 'add'];
      if (op.parent !== null) argv.push('link', op.parent);
      argv.push('name', op.name, ...props(op.mac, op.mtu), 'type', op.kind);
      if (op.kind === 'veth' && op.peer) {
        argv.push('peer', 'name', op.peer.name, ...props(op.peer.mac, op.peer.mtu));
        if (op.peer.ns !== op.ns) argv.push('netns', path(op.peer.ns!));
      }
      if (op.kind === 'vlan') argv.push('id', String(op.vlanId));
      if (op.kind === 'macvlan' && op.macvlanMode) argv.push('mode', op.macvlanMode);
      const peer = op.peer ? ` with its peer ${op.peer.name}${op.peer.ns !== op.ns ? ` in net#${op.peer.ns}` : ''}` : '';
      return { ns: op.ns, argv, what: `${at}: ${op.kind} ${op.name}${peer}` };
    }
    case 'master':
      return { ns: op.ns, argv: ['ip', 'link', 'set', 'dev', op.name, 'master', op.master], what: `${at}: ${op.name} into ${op.master}` };
    case 'mtu':
      return { ns: op.ns, argv: ['ip', 'link', 'set', 'dev', op.name, 'mtu', String(op.mtu)], what: `${at}: mtu of ${op.name}` };
    case 'up':
      return { ns: op.ns, argv: ['ip', 'link', 'set', 'dev', op.name, 'up'], what: `${at}: ${op.name} up` };
    case 'address': {
      const argv = ['ip', op.family === 'inet' ? '-4' : '-6', 'address', 'replace'];
      if (op.peer) argv.push('local', op.address, 'peer', `${op.peer}/${op.prefixLen}`);
      else argv.push(`${op.address}/${op.prefixLen}`);
      argv.push('dev', op.dev, 'scope', String(op.scope));
      if (op.broadcast) argv.push('broadcast', op.broadcast);
      if (op.label && op.label !== op.dev) argv.push('label', op.label);
      if (op.noprefixroute) argv.push('noprefixroute');
      // Usable at once (the dumped address had long passed duplicate address detection).
      if (op.family === 'inet6') argv.push('nodad');
      return { ns: op.ns, argv, what: `${at}: address ${op.address}/${op.prefixLen} on ${op.dev}` };
    }
    case 'route': {
      const type = ROUTE_TYPES[op.type] ?? String(op.type);
      const dst = op.dst ? `${op.dst}/${op.dstLen}` : 'default';
      const argv = ['ip', op.family === 'inet' ? '-4' : '-6', 'route', 'replace', type, dst];
      if (op.gateway) argv.push('via', op.gateway);
      if (op.dev) argv.push('dev', op.dev);
      argv.push('proto', String(op.protocol), 'scope', String(op.scope), 'metric', String(op.priority));
      if (op.prefsrc) argv.push('src', op.prefsrc);
      argv.push('table', String(op.table));
      return { ns: op.ns, argv, what: `${at}: route ${dst}${op.gateway ? ` via ${op.gateway}` : ''}${op.table === 254 ? '' : ` table ${op.table}`}` };
    }
    case 'rule':
    case 'unrule': {
      const argv = ['ip', op.family === 'inet' ? '-4' : '-6', 'rule', op.op === 'rule' ? 'add' : 'del', 'pref', String(op.priority)];
      if (op.invert) argv.push('not');
      argv.push('from', op.src ? `${op.src}/${op.srcLen}` : 'all');
      if (op.dst) argv.push('to', `${op.dst}/${op.dstLen}`);
      if (op.tos) argv.push('tos', `0x${op.tos.toString(16)}`);
      if (op.fwmark || op.fwmask) argv.push('fwmark', `0x${op.fwmark.toString(16)}/0x${op.fwmask.toString(16)}`);
      if (op.iif) argv.push('iif', op.iif);
      if (op.oif) argv.push('oif', op.oif);
      if (op.l3mdev) argv.push('l3mdev');
      if (op.uidRange) argv.push('uidrange', op.uidRange);
      if (op.ipProto) argv.push('ipproto', String(op.ipProto));
      if (op.sportRange) argv.push('sport', op.sportRange);
      if (op.dportRange) argv.push('dport', op.dportRange);
      if (op.action === 'lookup') argv.push('table', String(op.table));
      else if (op.action === 'goto') argv.push('goto', String(op.gotoPriority));
      else argv.push('type', op.action);
      if (op.suppressPrefixlen >= 0) argv.push('suppress_prefixlength', String(op.suppressPrefixlen));
      if (op.suppressIfgroup >= 0) argv.push('suppress_ifgroup', String(op.suppressIfgroup));
      argv.push('protocol', String(op.protocol));
      const { op: _o, ns: _n, ...rule } = op;
      return { ns: op.ns, argv, what: `${at}: ${op.op === 'rule' ? 'rule' : 'delete the default rule'} ${ruleText({ ...rule, complex: false })}` };
    }
  }
}
