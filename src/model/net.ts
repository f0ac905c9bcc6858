// Why: what of a recorded network the kernel makes by itself decides both what a restore adds and
// what `diff` compares; one definition for both. The same holds for how a rule reads.
import type { NetRule } from './image.js';

/** IPv6 link-local addresses come from the kernel once a link is up (derived from its MAC), on its own schedule. */
export const kernelMadeAddress = (a: { family: string; scope: number }) => a.family === 'inet6' && a.scope === 253;

const RTPROT_KERNEL = 2;
/** Routes the kernel adds itself with an address (connected prefixes, fe80::/64). */
export const kernelMadeRoute = (r: { protocol: number }) => r.protocol === RTPROT_KERNEL;

const RULE_DEFAULTS = { tos: 0, invert: false, fwmark: 0, fwmask: 0, iif: '', oif: '', gotoPriority: 0, suppressPrefixlen: -1, suppressIfgroup: -1, l3mdev: false, uidRange: '', ipProto: 0, sportRange: '', dportRange: '', complex: false, src: '', srcLen: 0, dst: '', dstLen: 0 };
const defaultRule = (family: 'inet' | 'inet6', priority: number, table: number): NetRule => ({ family, priority, action: 'lookup', table, protocol: 2, ...RULE_DEFAULTS });
/**
 * The rules of a fresh network namespace, read on Linux 6.18 (`unshare --net ip -d rule`): IPv4
 * local, main and default; IPv6 local and main only. Used only where the dumper could not make a
 * fresh namespace to read them from.
 */
export const FRESH_NAMESPACE_RULES: NetRule[] = [
  defaultRule('inet', 0, 255), defaultRule('inet', 32766, 254), defaultRule('inet', 32767, 253),
  defaultRule('inet6', 0, 255), defaultRule('inet6', 32766, 254),
];

/** Table numbers as `ip` names them. */
const TABLE_NAMES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };
export const tableName = (t: number) => TABLE_NAMES[t] ?? String(t);

/**
 * A rule as `ip rule` would print it ("-4 32765: from 198.51.100.0/24 lookup 100"), every field
 * that tells rules apart in it: two rules are the same rule when their texts are equal.
 */
export function ruleText(r: NetRule): string {
  const bits = [`${r.family === 'inet' ? '-4' : '-6'} ${r.priority}:`];
  if (r.invert) bits.push('not');
  bits.push(`from ${r.src ? `${r.src}/${r.srcLen}` : 'all'}`);
  if (r.dst) bits.push(`to ${r.dst}/${r.dstLen}`);
  if (r.tos) bits.push(`tos 0x${r.tos.toString(16)}`);
  if (r.fwmark || r.fwmask) bits.push(`fwmark 0x${r.fwmark.toString(16)}/0x${r.fwmask.toString(16)}`);
  if (r.iif) bits.push(`iif ${r.iif}`);
  if (r.oif) bits.push(`oif ${r.oif}`);
  if (r.l3mdev) bits.push('l3mdev');
  if (r.uidRange) bits.push(`uidrange ${r.uidRange}`);
  if (r.ipProto) bits.push(`ipproto ${r.ipProto}`);
  if (r.sportRange) bits.push(`sport ${r.sportRange}`);
  if (r.dportRange) bits.push(`dport ${r.dportRange}`);
  if (r.action === 'lookup') bits.push(`lookup ${tableName(r.table)}`);
  else if (r.action === 'goto') bits.push(`goto ${r.gotoPriority}`);
  else bits.push(r.action);
  if (r.suppressPrefixlen >= 0) bits.push(`suppress_prefixlength ${r.suppressPrefixlen}`);
  if (r.suppressIfgroup >= 0) bits.push(`suppress_ifgroup ${r.suppressIfgroup}`);
  bits.push(`proto ${r.protocol}`);
  if (r.complex) bits.push('(more attributes)');
  return bits.join(' ');
}

/** Per-interface settings kept for the namespace as a whole (conf/all) and for new links (conf/default). */
const IPV4_CONF = ['accept_redirects', 'arp_announce', 'arp_ignore', 'forwarding', 'proxy_arp', 'route_localnet', 'rp_filter', 'send_redirects'];
const IPV6_CONF = ['accept_dad', 'accept_ra', 'autoconf', 'disable_ipv6', 'forwarding', 'use_tempaddr'];
/**
 * The net sysctls a dump keeps (when they differ from a fresh namespace's), as paths below
 * /proc/sys/net: what containers and their tools set — forwarding, port ranges, ping and
 * low-port permissions, TCP keepalive and buffers, reverse-path filtering. Not every file: a 6.18
 * namespace has ~440, and reading them all took 2.3 s of a dump of 200 network namespaces; a
 * 149-entry table still made a third of a 2,041-process dump's system calls (strace -c).
 */
export const NET_SYSCTLS: readonly string[] = [
  ...[
    'fwmark_reflect', 'icmp_echo_ignore_all', 'icmp_echo_ignore_broadcasts', 'ip_default_ttl', 'ip_forward', 'ip_local_port_range',
    'ip_local_reserved_ports', 'ip_nonlocal_bind', 'ip_unprivileged_port_start', 'ping_group_range', 'tcp_congestion_control',
    'tcp_ecn', 'tcp_fin_timeout', 'tcp_keepalive_intvl', 'tcp_keepalive_probes', 'tcp_keepalive_time', 'tcp_max_syn_backlog',
    'tcp_mtu_probing', 'tcp_rmem', 'tcp_syncookies', 'tcp_timestamps', 'tcp_tw_reuse', 'tcp_wmem',
  ].map((n) => `ipv4/${n}`),
  ...['all', 'default'].flatMap((d) => IPV4_CONF.map((n) => `ipv4/conf/${d}/${n}`)),
  ...['bindv6only', 'ip_nonlocal_bind'].map((n) => `ipv6/${n}`),
  ...['all', 'default'].flatMap((d) => IPV6_CONF.map((n) => `ipv6/conf/${d}/${n}`)),
];
