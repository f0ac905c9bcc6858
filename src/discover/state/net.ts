// Why: a network namespace's links, addresses, policy rules and the routes of the tables they look
// up, and changed net sysctls, read so
// that a restore can rebuild them and nothing dumped is changed on the way. Three kernel facts
// shape it: a NETLINK_ROUTE socket answers for the namespace it was created in; dumping links
// allocates a netns id for each veth peer's namespace in the namespace of the asking socket (so
// links are asked for from a scratch namespace of our own, by the ids we gave the dumped ones
// there); and /proc/sys/net shows the namespace of the reading thread, with defaults that a new
// namespace takes partly from the host — so "changed" means "differs from a namespace made now"
// (rules too: those of the scratch namespace are the defaults).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { NsNode } from '../graph.js';
import type { NetInterface, NetRoute, NetRule, StateOf } from '../../model/image.js';
import { FRESH_NAMESPACE_RULES, NET_SYSCTLS, ruleText } from '../../model/net.js';
import { sysctlValue } from '../../model/sysctl.js';
import { close, open } from '../../kernel/ffi.js';
import { AF_INET, AF_INET6, TABLE_MAIN, assignNsid, closeRouteSocket, dumpAddrs, dumpLinks, dumpRoutes, dumpRules, openRouteSocket, type Link } from '../../kernel/netlink.js';
import type { StateContext, StateResult } from './context.js';

const SYSCTL_ROOT = '/proc/sys/net';

/**
 * Values of the table's sysctls that the thread's namespace has, keyed by path below
 * /proc/sys/net; unreadable ones (EIO for an unset value) are left out.
 */
function sysctlValues(texts: (string | null)[], paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  texts.forEach((t, i) => {
    if (t !== null && t !== undefined) out.set(paths[i]!, sysctlValue(t));
  });
  return out;
}

const absolute = (paths: readonly string[]) => paths.map((p) => `${SYSCTL_ROOT}/${p}`);

const sysctlName = (p: string) => `net.${p.replace(/\//g, '.')}`;

/**
 * A fresh network namespace of our own, made by util-linux unshare (creating a namespace is never
 * done on Node's own threads), returned as an open fd the caller closes; the helper has exited by
 * then. The reason instead, where we may not make one.
 */
export async function makeScratchNetns(): Promise<{ fd: number; inode: number } | { why: string }> {
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo ready; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const ready = await new Promise<boolean>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(true);
    });
    child.once('error', (e) => {
      err += e.message;
      resolve(false);
    });
    child.once('close', () => resolve(false));
  });
  try {
    if (!ready) return { why: `unshare --net: ${err.trim().split('\n').at(-1) || 'failed'}` };
    const fd = open(`/proc/${child.pid}/ns/net`);
    return { fd, inode: statSync(`/proc/self/fd/${fd}`).ino };
  } finally {
    // cat ends at end of input; the fd alone keeps the namespace.
    child.stdin!.end();
    await exited;
  }
}

export class NetStateReader {
  /** Socket in the scratch namespace, where every dumped net namespace has an id of ours. */
  private readonly scratchSock: number | null = null;
  private readonly nsidOf = new Map<string, number>();
  /** Interfaces whose other end is in another dumped namespace, by that namespace's key. */
  private readonly peers: { iface: NetInterface; key: string }[] = [];
  private readonly keyOfNsid = new Map<number, string>();
  private readonly defaults = new Map<string, string>();
  private readonly paths: string[] = [];
  private readonly why: string = '';
  /** The rules of a fresh namespace (the scratch one's; where there is none, those verified on 6.18). */
  private readonly defaultRules: NetRule[] = FRESH_NAMESPACE_RULES;

  constructor(
    private readonly ctx: StateContext,
    scratch: { fd: number; inode: number } | { why: string },
  ) {
    if ('why' in scratch) {
      this.why = `no scratch namespace (${scratch.why}): veth peers not resolved, sysctls not recorded`;
      return;
    }
    // The table's sysctls this kernel has (readable in a fresh namespace), and their defaults.
    const defaults = sysctlValues(ctx.threads.within('net', scratch.fd, scratch.inode, { kind: 'sysctls', paths: absolute(NET_SYSCTLS) }), NET_SYSCTLS);
    const paths = [...defaults.keys()];
    const sock = ctx.threads.within('net', scratch.fd, scratch.inode, { kind: 'routeSocket' });
    // The socket keeps the scratch namespace alive; the caller may close its fd.
    this.scratchSock = sock;
    this.paths = paths;
    this.defaults = defaults;
    this.defaultRules = ([AF_INET, AF_INET6] as const).flatMap((f) => dumpRules(sock, f));
    let next = 1;
    for (const n of ctx.graph.nodes.values()) {
      if (n.type !== 'net') continue;
      try {
        assignNsid(sock, n.fd, next);
        this.nsidOf.set(n.key, next);
        this.keyOfNsid.set(next, n.key);
        next++;
      } catch {
        // Not ours to name (no CAP_NET_ADMIN over it): read from inside instead, peers unresolved.
      }
    }
  }

  read(node: NsNode): StateResult<StateOf<'net'>> {
    const notes: string[] = this.why ? [this.why] : [];
    const values = this.scratchSock === null ? new Map<string, string>() : sysctlValues(this.ctx.within('net', node, { kind: 'sysctls', paths: absolute(this.paths) }), this.paths);
    const inside = { sock: this.ctx.within('net', node, { kind: 'routeSocket' }), values };
    let links: Link[];
    let addrs;
    const routes: NetRoute[] = [];
    const all: NetRule[] = [];
    try {
      const nsid = this.nsidOf.get(node.key);
      if (nsid !== undefined && this.scratchSock !== null) {
        links = dumpLinks(this.scratchSock, nsid);
      } else {
        links = dumpLinks(inside.sock);
        if (!this.why) notes.push('links read from inside: veth peers not resolved');
      }
      addrs = dumpAddrs(inside.sock);
      const nameOf = new Map(links.map((l) => [l.index, l.name]));
      for (const family of [AF_INET, AF_INET6] as const) all.push(...dumpRules(inside.sock, family));
      // The main table, and every table a rule looks up (local and default among them, whose
      // kernel-made routes restore and diff leave to the kernel).
      const tables = new Set([TABLE_MAIN, ...all.filter((r) => r.action === 'lookup').map((r) => r.table)]);
      let complex = 0;
      for (const family of [AF_INET, AF_INET6] as const) {
        for (const r of dumpRoutes(inside.sock, family)) {
          if (!tables.has(r.table)) continue;
          if (r.complex) complex++;
          const { oif, ...rest } = r;
          routes.push({ ...rest, dev: nameOf.get(oif) ?? '' });
        }
      }
      if (complex) notes.push(`${complex} multipath or encapsulated route${complex === 1 ? '' : 's'} recorded without detail`);
      const odd = all.filter((r) => r.complex).length;
      if (odd) notes.push(`${odd} rule${odd === 1 ? '' : 's'} with attributes beyond what ip rule sets, recorded without detail`);
    } finally {
      closeRouteSocket(inside.sock);
    }
    const interfaces: NetInterface[] = links.map((l) => {
      const linkNetns: number | null = null;
      let linkOutside = false;
      let peer: string | undefined;
      if (l.linkNsid !== null) {
        const key = this.scratchSock !== null && this.nsidOf.has(node.key) ? this.keyOfNsid.get(l.linkNsid) : undefined;
        if (key === undefined) linkOutside = true;
        else if (key !== node.key) peer = key;
      }
      const iface: NetInterface = {
        index: l.index,
        name: l.name,
        kind: l.kind,
        flags: l.flags,
        mtu: l.mtu,
        mac: l.mac,
        addresses: addrs.filter((a) => a.index === l.index).map(({ index: _, ...a }) => a),
        link: l.link,
        linkNetns,
        linkOutside,
        master: l.master,
        vlanId: l.vlanId,
        macvlanMode: l.macvlanMode,
      };
      if (peer !== undefined) this.peers.push({ iface, key: peer });
      return iface;
    });
    const sysctls: Record<string, string> = {};
    for (const [p, v] of inside.values) if (this.defaults.get(p) !== v) sysctls[sysctlName(p)] = v;
    const isDefault = new Set(this.defaultRules.map(ruleText));
    const present = new Set(all.map(ruleText));
    const rules = all.filter((r) => !isDefault.has(ruleText(r)));
    const missingDefaultRules = this.defaultRules.filter((r) => !present.has(ruleText(r)));
    return { state: { interfaces, routes, rules, missingDefaultRules, sysctls }, note: notes.join('; ') };
  }

  /**
   * Image ids are given once the dump knows which namespaces it keeps (a process that exits
   * mid-dump may take some with it): then each veth's other end is named by its id, or, if its
   * namespace was left out, counts as outside the dump.
   */
  resolvePeers(ids: Map<string, number>): void {
    for (const { iface, key } of this.peers) {
      const id = ids.get(key);
      if (id === undefined) iface.linkOutside = true;
      else iface.linkNetns = id;
    }
  }

  close(): void {
    if (this.scratchSock !== null) closeRouteSocket(this.scratchSock);
  }
}

