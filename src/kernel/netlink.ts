// Why: links, addresses, routes and policy rules of a network namespace are only complete through rtnetlink. A
// NETLINK_ROUTE socket answers for the namespace it was created in, so the caller creates it while
// its thread sits in that namespace and may dump from it afterwards. Links are dumped from a socket
// in a scratch namespace instead (IFLA_TARGET_NETNSID): the kernel allocates a netns id for a veth
// peer's namespace in the namespace of the *asking socket* when none exists, and a dump must not
// change what it dumps.
import { close, recv, send, socket } from './ffi.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const RTM_NEWRULE = 32;
const RTM_GETRULE = 34;
const RTM_NEWNSID = 88;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_LINK_NETNSID = 37;
const IFLA_TARGET_NETNSID = 46;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_VLAN_ID = 1;
const IFLA_MACVLAN_MODE = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTA_VIA = 18;
const RTA_ENCAP = 22;
const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_IIFNAME = 3;
const FRA_GOTO = 4;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_SUPPRESS_IFGROUP = 13;
const FRA_SUPPRESS_PREFIXLEN = 14;
const FRA_TABLE = 15;
const FRA_FWMASK = 16;
const FRA_OIFNAME = 17;
const FRA_PAD = 18;
const FRA_L3MDEV = 19;
const FRA_UID_RANGE = 20;
const FRA_PROTOCOL = 21;
const FRA_IP_PROTO = 22;
const FRA_SPORT_RANGE = 23;
const FRA_DPORT_RANGE = 24;
/** Attributes a rule is read and recreated by; any other (realms, tunnel id, dscp, flow label, port masks) makes it "complex". */
const FRA_KNOWN = new Set([FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_GOTO, FRA_PRIORITY, FRA_FWMARK, FRA_SUPPRESS_IFGROUP, FRA_SUPPRESS_PREFIXLEN, FRA_TABLE, FRA_FWMASK, FRA_OIFNAME, FRA_PAD, FRA_L3MDEV, FRA_UID_RANGE, FRA_PROTOCOL, FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE]);
const FIB_RULE_INVERT = 0x2;
/** fib_rule_hdr.action → the word `ip rule` takes for it. */
const RULE_ACTIONS: [number, RuleAction][] = [[1, 'lookup'], [2, 'goto'], [3, 'nop'], [6, 'blackhole'], [7, 'unreachable'], [8, 'prohibit']];
const NETNSA_NSID = 1;
const NETNSA_FD = 3;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** The main routing table (RT_TABLE_MAIN). */
export const TABLE_MAIN = 254;

const IFF_NAMES: [number, string][] = [
  [0x1, 'UP'], [0x2, 'BROADCAST'], [0x8, 'LOOPBACK'], [0x10, 'POINTOPOINT'], [0x40, 'RUNNING'],
  [0x80, 'NOARP'], [0x100, 'PROMISC'], [0x1000, 'MULTICAST'], [0x10000, 'LOWER_UP'], [0x20000, 'DORMANT'],
];
/** IFA_F_* as `ip address` names them. */
const IFA_F_NAMES: [number, string][] = [
  [0x01, 'secondary'], [0x02, 'nodad'], [0x04, 'optimistic'], [0x08, 'dadfailed'], [0x10, 'homeaddress'],
  [0x20, 'deprecated'], [0x40, 'tentative'], [0x80, 'permanent'], [0x100, 'managetempaddr'],
  [0x200, 'noprefixroute'], [0x400, 'mcautojoin'], [0x800, 'stableprivacy'],
];
const MACVLAN_MODES: [number, string][] = [[1, 'private'], [2, 'vepa'], [4, 'bridge'], [8, 'passthru'], [16, 'source']];

export interface Link {
  index: number;
  name: string;
  kind: string;
  flags: string[];
  mtu: number;
  mac: string;
  /** IFLA_LINK: a veth's peer, a vlan's or macvlan's parent (its ifindex where it lives); 0: none. */
  link: number;
  /** IFLA_LINK_NETNSID: the netns id (in the asking socket's namespace) where `link` lives; null: the link's own namespace. */
  linkNsid: number | null;
  /** IFLA_MASTER: the bridge (or bond) this link is a port of; 0: none. */
  master: number;
  vlanId: number;
  macvlanMode: string;
}
export interface Addr {
  index: number;
  family: 'inet' | 'inet6';
  address: string;
  prefixLen: number;
  /** Point-to-point peer (IFA_ADDRESS when it differs from IFA_LOCAL); '' otherwise. */
  peer: string;
  broadcast: string;
  label: string;
  scope: number;
  flags: string[];
}
export interface Route {
  family: 'inet' | 'inet6';
  table: number;
  dst: string;
  dstLen: number;
  gateway: string;
  oif: number;
  protocol: number;
  scope: number;
  type: number;
  priority: number;
  prefsrc: string;
  /** Nexthops, MPLS or lightweight-tunnel encapsulation: recorded as present, not in detail. */
  complex: boolean;
}

export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';
/** A policy routing rule (fib rule) as `ip rule` sets it; ranges as "START-END", "" for none. */
export interface Rule {
  family: 'inet' | 'inet6';
  priority: number;
  action: RuleAction | string;
  /** lookup: the table (FRA_TABLE, else the 8-bit header field); 0 otherwise. */
  table: number;
  src: string;
  srcLen: number;
  dst: string;
  dstLen: number;
  tos: number;
  invert: boolean;
  fwmark: number;
  fwmask: number;
  iif: string;
  oif: string;
  /** goto: the priority jumped to. */
  gotoPriority: number;
  /** -1: not set. */
  suppressPrefixlen: number;
  suppressIfgroup: number;
  protocol: number;
  l3mdev: boolean;
  uidRange: string;
  ipProto: number;
  sportRange: string;
  dportRange: string;
  /** Attributes beyond these (realms, tunnel id, dscp, flow label): recorded as present, not in detail. */
  complex: boolean;
}

export function openRouteSocket(): number {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

export function closeRouteSocket(fd: number): void {
  close(fd);
}

function attrs(buf: Buffer, start: number, end: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + 4 <= end; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

function attr(type: number, value: Buffer): Buffer {
  const b = Buffer.alloc((4 + value.length + 3) & ~3);
  b.writeUInt16LE(4 + value.length, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, 4);
  return b;
}

const s32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
};

const cstr = (b: Buffer | undefined) => (b ? b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)).toString('utf8') : '');

export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  constructor(what: string, readonly errno: number) {
    super(`rtnetlink ${what}: errno ${errno}`);
  }
}

let seq = 0;

/**
 * One receive buffer for every request: a fresh zeroed 64 KiB each time was ~90 MB over a dump
 * of 200 network namespaces (7 requests each), freed only when the GC got to it — a third of the
 * dump's peak RSS. Callers parse what they are handed into numbers and strings before returning.
 */
const recvBuf = Buffer.allocUnsafe(64 * 1024);

/** Send one request and call `each` with (type, message) per reply until DONE (dump) or the ACK. */
function request(fd: number, type: number, flags: number, body: Buffer, each: (type: number, msg: Buffer) => void): void {
  const req = Buffer.alloc(16 + body.length);
  const mySeq = ++seq;
  req.writeUInt32LE(req.length, 0);
  req.writeUInt16LE(type, 4);
  req.writeUInt16LE(NLM_F_REQUEST | flags, 6);
  req.writeUInt32LE(mySeq, 8);
  body.copy(req, 16);
  send(fd, req);
  const buf = recvBuf;
  for (;;) {
    const n = recv(fd, buf);
    for (let off = 0; off + 16 <= n; ) {
      const len = buf.readUInt32LE(off);
      const mtype = buf.readUInt16LE(off + 4);
      if (mtype === NLMSG_DONE) return;
      if (mtype === NLMSG_ERROR) {
        const errno = -buf.readInt32LE(off + 16);
        if (errno !== 0) throw new NetlinkError(`request ${type}`, errno);
        // An ACK (errno 0) ends a request that is not a dump.
        if (!(flags & NLM_F_DUMP)) return;
      } else {
        each(mtype, buf.subarray(off + 16, off + len));
      }
      if (len < 16) return;
      off += (len + 3) & ~3;
    }
  }
}

const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

/**
 * The links of the socket's namespace, or with `targetNsid` of the namespace that id names in the
 * socket's namespace (IFLA_TARGET_NETNSID, 4.20): then `linkNsid` values are ids in the socket's
 * namespace too.
 */
export function dumpLinks(fd: number, targetNsid?: number): Link[] {
  const out: Link[] = [];
  const body = Buffer.concat([Buffer.alloc(16), ...(targetNsid === undefined ? [] : [attr(IFLA_TARGET_NETNSID, s32(targetNsid))])]);
  request(fd, RTM_GETLINK, NLM_F_DUMP, body, (t, m) => {
    if (t !== RTM_NEWLINK) return;
    const flags = m.readUInt32LE(8);
    const a = attrs(m, 16, m.length);
    const info = a.get(IFLA_LINKINFO);
    const ia = info ? attrs(info, 0, info.length) : new Map<number, Buffer>();
    const kind = cstr(ia.get(IFLA_INFO_KIND));
    const data = ia.get(IFLA_INFO_DATA);
    const da = data ? attrs(data, 0, data.length) : new Map<number, Buffer>();
    const mac = a.get(IFLA_ADDRESS);
    const mode = kind === 'macvlan' || kind === 'macvtap' ? da.get(IFLA_MACVLAN_MODE)?.readUInt32LE(0) : undefined;
    out.push({
      index: m.readInt32LE(4),
      name: cstr(a.get(IFLA_IFNAME)),
      kind,
      flags: IFF_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
      mtu: a.get(IFLA_MTU)?.readUInt32LE(0) ?? 0,
      mac: mac ? hex(mac) : '',
      link: a.get(IFLA_LINK)?.readInt32LE(0) ?? 0,
      linkNsid: a.has(IFLA_LINK_NETNSID) ? a.get(IFLA_LINK_NETNSID)!.readInt32LE(0) : null,
      master: a.get(IFLA_MASTER)?.readInt32LE(0) ?? 0,
      vlanId: kind === 'vlan' ? (da.get(IFLA_VLAN_ID)?.readUInt16LE(0) ?? 0) : 0,
      macvlanMode: mode === undefined ? '' : (MACVLAN_MODES.find(([v]) => v === mode)?.[1] ?? String(mode)),
    });
  });
  return out.sort((x, y) => x.index - y.index);
}

/**
 * Give the namespace behind `nsFd` the id `nsid` in the socket's namespace (RTM_NEWNSID). Only
 * ever done in a scratch namespace of the dumper's own.
 */
export function assignNsid(fd: number, nsFd: number, nsid: number): void {
  const body = Buffer.concat([Buffer.alloc(4), attr(NETNSA_FD, s32(nsFd)), attr(NETNSA_NSID, s32(nsid))]);
  request(fd, RTM_NEWNSID, NLM_F_ACK, body, () => undefined);
}

export function formatAddr(family: number, b: Buffer): string {
  if (family === AF_INET) return [...b.subarray(0, 4)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function dumpAddrs(fd: number): Addr[] {
  const out: Addr[] = [];
  request(fd, RTM_GETADDR, NLM_F_DUMP, Buffer.alloc(8), (t, m) => {
    if (t !== RTM_NEWADDR) return;
    const family = m.readUInt8(0);
    if (family !== AF_INET && family !== AF_INET6) return;
    const a = attrs(m, 8, m.length);
    // For IPv4 point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    const local = a.get(IFA_LOCAL);
    const address = a.get(IFA_ADDRESS);
    const raw = local ?? address;
    if (!raw) return;
    const peer = local && address && !local.equals(address) ? formatAddr(family, address) : '';
    // IFA_FLAGS (32 bits) supersedes the 8-bit ifa_flags where present.
    const flags = a.get(IFA_FLAGS)?.readUInt32LE(0) ?? m.readUInt8(2);
    const brd = a.get(IFA_BROADCAST);
    out.push({
      index: m.readUInt32LE(4),
      family: family === AF_INET ? 'inet' : 'inet6',
      address: formatAddr(family, raw),
      prefixLen: m.readUInt8(1),
      peer,
      broadcast: brd ? formatAddr(family, brd) : '',
      label: cstr(a.get(IFA_LABEL)),
      scope: m.readUInt8(3),
      flags: IFA_F_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
    });
  });
  return out;
}

/** Routes of one family, every table (the caller filters). */
export function dumpRoutes(fd: number, family: typeof AF_INET | typeof AF_INET6): Route[] {
  const out: Route[] = [];
  const body = Buffer.alloc(12);
  body.writeUInt8(family, 0);
  request(fd, RTM_GETROUTE, NLM_F_DUMP, body, (t, m) => {
    if (t !== RTM_NEWROUTE || m.readUInt8(0) !== family) return;
    const a = attrs(m, 12, m.length);
    const addr = (k: number) => (a.has(k) ? formatAddr(family, a.get(k)!) : '');
    out.push({
      family: family === AF_INET ? 'inet' : 'inet6',
      table: a.get(RTA_TABLE)?.readUInt32LE(0) ?? m.readUInt8(4),
      dst: addr(RTA_DST),
      dstLen: m.readUInt8(1),
      gateway: addr(RTA_GATEWAY),
      oif: a.get(RTA_OIF)?.readUInt32LE(0) ?? 0,
      protocol: m.readUInt8(5),
      scope: m.readUInt8(6),
      type: m.readUInt8(7),
      priority: a.get(RTA_PRIORITY)?.readUInt32LE(0) ?? 0,
      prefsrc: addr(RTA_PREFSRC),
      complex: a.has(RTA_MULTIPATH) || a.has(RTA_VIA) || a.has(RTA_ENCAP),
    });
  });
  return out;
}

/**
 * The policy routing rules of one family in the socket's namespace, in the kernel's order
 * (ascending priority). RTM_GETRULE takes no target netns id: the socket must be made inside.
 */
export function dumpRules(fd: number, family: typeof AF_INET | typeof AF_INET6): Rule[] {
  const out: Rule[] = [];
  const body = Buffer.alloc(12);
  body.writeUInt8(family, 0);
  request(fd, RTM_GETRULE, NLM_F_DUMP, body, (t, m) => {
    if (t !== RTM_NEWRULE || m.readUInt8(0) !== family) return;
    const a = attrs(m, 12, m.length);
    const addr = (k: number) => (a.has(k) ? formatAddr(family, a.get(k)!) : '');
    const u32 = (k: number) => a.get(k)?.readUInt32LE(0);
    const range = (k: number, size: 2 | 4) => {
      const b = a.get(k);
      if (!b) return '';
      return size === 4 ? `${b.readUInt32LE(0)}-${b.readUInt32LE(4)}` : `${b.readUInt16LE(0)}-${b.readUInt16LE(2)}`;
    };
    const action = m.readUInt8(7);
    const s32 = (k: number) => (a.has(k) ? a.get(k)!.readInt32LE(0) : -1);
    out.push({
      family: family === AF_INET ? 'inet' : 'inet6',
      priority: u32(FRA_PRIORITY) ?? 0,
      action: RULE_ACTIONS.find(([v]) => v === action)?.[1] ?? String(action),
      table: action === 1 ? (u32(FRA_TABLE) ?? m.readUInt8(4)) : 0,
      src: addr(FRA_SRC),
      srcLen: m.readUInt8(2),
      dst: addr(FRA_DST),
      dstLen: m.readUInt8(1),
      tos: m.readUInt8(3),
      invert: (m.readUInt32LE(8) & FIB_RULE_INVERT) !== 0,
      fwmark: u32(FRA_FWMARK) ?? 0,
      fwmask: u32(FRA_FWMASK) ?? 0,
      iif: cstr(a.get(FRA_IIFNAME)),
      oif: cstr(a.get(FRA_OIFNAME)),
      gotoPriority: action === 2 ? (u32(FRA_GOTO) ?? 0) : 0,
      suppressPrefixlen: s32(FRA_SUPPRESS_PREFIXLEN),
      suppressIfgroup: s32(FRA_SUPPRESS_IFGROUP),
      protocol: a.get(FRA_PROTOCOL)?.readUInt8(0) ?? 0,
      l3mdev: (a.get(FRA_L3MDEV)?.readUInt8(0) ?? 0) !== 0,
      uidRange: range(FRA_UID_RANGE, 4),
      ipProto: a.get(FRA_IP_PROTO)?.readUInt8(0) ?? 0,
      sportRange: range(FRA_SPORT_RANGE, 2),
      dportRange: range(FRA_DPORT_RANGE, 2),
      complex: [...a.keys()].some((k) => !FRA_KNOWN.has(k)),
    });
  });
  return out;
}
