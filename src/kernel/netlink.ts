// Why: interfaces of a network namespace — kind, flags, mtu, addresses — are only complete through
// rtnetlink. A NETLINK_ROUTE socket answers for the namespace it was created in, so the caller
// creates it while its thread sits in that namespace and may dump from it afterwards.
import { close, recv, send, socket } from './ffi.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const AF_INET = 2;
const AF_INET6 = 10;

const IFF_NAMES: [number, string][] = [
  [0x1, 'UP'], [0x2, 'BROADCAST'], [0x8, 'LOOPBACK'], [0x10, 'POINTOPOINT'], [0x40, 'RUNNING'],
  [0x80, 'NOARP'], [0x100, 'PROMISC'], [0x1000, 'MULTICAST'], [0x10000, 'LOWER_UP'], [0x20000, 'DORMANT'],
];

export interface Link { index: number; name: string; kind: string; flags: string[]; mtu: number; mac: string }
export interface Addr { index: number; family: 'inet' | 'inet6'; address: string; prefixLen: number }

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

const cstr = (b: Buffer | undefined) => (b ? b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)).toString('utf8') : '');

/** Send one dump request and call `each` with (type, message buffer, payload offset) per reply. */
function dump(fd: number, type: number, body: Buffer, each: (type: number, msg: Buffer) => void): void {
  const req = Buffer.alloc(16 + body.length);
  req.writeUInt32LE(req.length, 0);
  req.writeUInt16LE(type, 4);
  req.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  req.writeUInt32LE(type, 8);
  body.copy(req, 16);
  send(fd, req);
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = recv(fd, buf);
    for (let off = 0; off + 16 <= n; ) {
      const len = buf.readUInt32LE(off);
      const mtype = buf.readUInt16LE(off + 4);
      if (mtype === NLMSG_DONE) return;
      if (mtype === NLMSG_ERROR) {
        const errno = -buf.readInt32LE(off + 16);
        if (errno !== 0) throw new Error(`rtnetlink dump ${type}: errno ${errno}`);
      } else {
        each(mtype, buf.subarray(off + 16, off + len));
      }
      if (len < 16) return;
      off += (len + 3) & ~3;
    }
  }
}

export function dumpLinks(fd: number): Link[] {
  const out: Link[] = [];
  dump(fd, RTM_GETLINK, Buffer.alloc(16), (t, m) => {
    if (t !== RTM_NEWLINK) return;
    const flags = m.readUInt32LE(8);
    const a = attrs(m, 16, m.length);
    const info = a.get(IFLA_LINKINFO);
    const mac = a.get(IFLA_ADDRESS);
    out.push({
      index: m.readInt32LE(4),
      name: cstr(a.get(IFLA_IFNAME)),
      kind: info ? cstr(attrs(info, 0, info.length).get(IFLA_INFO_KIND)) : '',
      flags: IFF_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n),
      mtu: a.get(IFLA_MTU)?.readUInt32LE(0) ?? 0,
      mac: mac ? [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':') : '',
    });
  });
  return out.sort((x, y) => x.index - y.index);
}

function formatAddr(family: number, b: Buffer): string {
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
  dump(fd, RTM_GETADDR, Buffer.alloc(8), (t, m) => {
    if (t !== RTM_NEWADDR) return;
    const family = m.readUInt8(0);
    if (family !== AF_INET && family !== AF_INET6) return;
    const a = attrs(m, 8, m.length);
    // For IPv4 point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
    if (!raw) return;
    out.push({ index: m.readUInt32LE(4), family: family === AF_INET ? 'inet' : 'inet6', address: formatAddr(family, raw), prefixLen: m.readUInt8(1) });
  });
  return out;
}
