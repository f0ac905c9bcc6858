// Why: cgroup and net state both need the reading thread inside the namespace: a cgroup path is
// printed relative to the reader's cgroup root, and a netlink socket answers for the namespace it
// was created in.
import type { NsNode } from '../graph.js';
import type { StateOf } from '../../model/image.js';
import { closeRouteSocket, dumpAddrs, dumpLinks } from '../../kernel/netlink.js';
import { readText } from '../procfs.js';
import type { StateContext, StateResult } from './context.js';

/** The unified-hierarchy ("0::") path of /proc/PID/cgroup, or the first line's path on v1-only hosts. */
export function cgroupPath(text: string): string {
  const lines = text.split('\n').filter(Boolean);
  const line = lines.find((l) => l.startsWith('0::')) ?? lines[0] ?? '';
  return line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

/**
 * root + inside = outside, so the root is outside with the inside suffix removed. A member that sits
 * above the root reads as "/../x" from inside; the root is then not derivable from one process.
 */
export function deriveCgroupRoot(outside: string, inside: string): string {
  if (inside === '/') return outside;
  if (inside.startsWith('/..')) return '';
  if (!outside.endsWith(inside)) return '';
  return outside.slice(0, outside.length - inside.length) || '/';
}

export function readCgroup(ctx: StateContext, node: NsNode): StateResult<StateOf<'cgroup'>> {
  // With no member at all, our own cgroup serves as the probe: the formula is the same.
  const pid = ctx.firstMember(node) ?? process.pid;
  const file = `/proc/${pid}/cgroup`;
  const outside = cgroupPath(readText(file));
  const inside = cgroupPath(ctx.threads.within('cgroup', node.fd, node.inode, { kind: 'files', paths: [file] })[0] ?? '');
  const root = deriveCgroupRoot(outside, inside);
  return { state: { root, insidePath: inside }, note: root ? '' : `root not derivable: pid ${pid} reads ${inside} from inside` };
}

export function readNet(ctx: StateContext, node: NsNode): StateResult<StateOf<'net'>> {
  const sock = ctx.threads.within('net', node.fd, node.inode, { kind: 'routeSocket' });
  try {
    const links = dumpLinks(sock);
    const addrs = dumpAddrs(sock);
    const interfaces = links.map((l) => ({
      ...l,
      addresses: addrs.filter((a) => a.index === l.index).map(({ family, address, prefixLen }) => ({ family, address, prefixLen })),
    }));
    return { state: { interfaces }, note: '' };
  } finally {
    closeRouteSocket(sock);
  }
}
