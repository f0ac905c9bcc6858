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
import { AF_INET, AF_INET6, TABLE_MAIN, assignNsid, closeRouteSocket, dumpLinks, dumpRules, type Link } from '../../kernel/netlink.js';
import { HelperError, runInside } from '../helper.js';
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

/** Sysctls of the table whose values are user or group ids. */
const ID_SYSCTLS: readonly string[] = ['ipv4/ping_group_range'];

const sysctlName = (p: string) => `net.${p.replace(/\//g, '.')}`;

/** A scratch namespace: its fd, and where we made it inside a user namespace of our own, that one's fd. */
export type Scratch = { fd: number; inode: number; userFd: number | null } | { why: string };

/** Start `unshare ARGS sh`, wait until it is inside; then call `got` with its pid, and let it exit. */
async function underUnshare<R>(args: string[], got: (pid: number) => R): Promise<R | { why: string }> {
  const child = spawn('unshare', [...args, '--', 'sh', '-c', 'echo ready; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    if (!ready) return { why: `unshare ${args.join(' ')}: ${err.trim().split('\n').at(-1) || 'failed'}` };
    // Our child, not yet waited for: its pid cannot have been reused.
    return got(child.pid!);
  } finally {
    // cat ends at end of input; the fds alone keep the namespaces.
    child.stdin!.end();
    await exited;
  }
}

/**
 * A fresh network namespace of our own, made by util-linux unshare (creating a namespace is never
 * done on Node's own threads), returned as open fds the caller closes; the helper has exited by
 * then. A dumper without CAP_SYS_ADMIN makes it inside a user namespace of its own that maps its
 * uid to 0 (the shape of a rootless container's): its threads cannot enter that, so its defaults
 * are read by a helper (runInside). The reason instead, where neither can be made.
 */
export async function makeScratchNetns(): Promise<Scratch> {
  const plain = await underUnshare(['--net'], (pid) => {
    const fd = open(`/proc/${pid}/ns/net`);
    return { fd, inode: statSync(`/proc/self/fd/${fd}`).ino, userFd: null };
  });
  if (!('why' in plain) || process.geteuid?.() === 0) return plain;
  const owned = await underUnshare(['--user', '--map-root-user', '--net'], (pid) => {
    const userFd = open(`/proc/${pid}/ns/user`);
    try {
      const fd = open(`/proc/${pid}/ns/net`);
      return { fd, inode: statSync(`/proc/self/fd/${fd}`).ino, userFd };
    } catch (err) {
      close(userFd);
      throw err;
    }
  });
  return 'why' in owned ? { why: `${plain.why}; ${owned.why}` } : owned;
}

export class NetStateReader {
  /** Socket in the scratch namespace, where every dumped net namespace has an id of ours. */
  private readonly scratchSock: number | null = null;
  private readonly nsidOf = new Map<string, number>();
  /** Interfaces whose other end is in another dumped namespace, by that namespace's key. */
  private readonly peers: { iface: NetInterface; key: string }[] = [];
  private readonly keyOfNsid = new Map<number, string>();
  /** Values of the table's sysctls in a fresh namespace; null where there is none to read them in. */
  private readonly defaults: Map<string, string> | null = null;
  private readonly paths: string[] = [];
  private readonly why: string = '';
  /** The defaults were read by a helper in a user namespace of ours, which shows group ids its own way. */
  private readonly defaultsElsewhere: boolean = false;
  /** The rules of a fresh namespace (the scratch one's; where there is none, those verified on 6.18). */
  private readonly defaultRules: NetRule[] = FRESH_NAMESPACE_RULES;

  constructor(
    private readonly ctx: StateContext,
    scratch: Scratch,
  ) {
    if ('why' in scratch) {
      this.why = `no scratch namespace (${scratch.why}): veth peers not resolved, sysctls not recorded`;
      return;
    }
    if (scratch.userFd !== null) {
      // Ours, inside a user namespace of ours that our threads cannot enter: a helper reads its
      // defaults. No socket of ours can be in it, so links are read from inside (peers unresolved).
      const joins = [{ type: 'user' as const, path: ctx.pathOfFd(scratch.userFd) }, { type: 'net' as const, path: ctx.pathOfFd(scratch.fd) }];
      try {
        const defaults = sysctlValues(runInside(joins, { kind: 'sysctls', paths: absolute(NET_SYSCTLS) }), NET_SYSCTLS);
        this.defaultRules = runInside(joins, { kind: 'netDump', links: false }).rules;
        this.defaults = defaults;
        this.paths = [...defaults.keys()];
        this.defaultsElsewhere = true;
      } catch (err) {
        // As where no scratch namespace could be made: the image says so, the dump goes on.
        if (!(err instanceof HelperError)) throw err;
        this.why = `no scratch namespace (its defaults could not be read: ${err.message}): veth peers not resolved, sysctls not recorded`;
      }
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
    try {
      this.defaultRules = ([AF_INET, AF_INET6] as const).flatMap((f) => dumpRules(sock, f));
    } catch (err) {
      // Thrown out of the constructor, this reader is never closed by anyone.
      closeRouteSocket(sock);
      throw err;
    }
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
    const values = this.defaults === null ? new Map<string, string>() : sysctlValues(this.ctx.within('net', node, { kind: 'sysctls', paths: absolute(this.paths) }), this.paths);
    const nsid = this.nsidOf.get(node.key);
    const fromScratch = nsid !== undefined && this.scratchSock !== null;
    // Everything but the links (when the scratch namespace asks for them) is read from inside:
    // by a thread of ours, or by a helper where our threads may not enter (context.within).
    const inside = this.ctx.within('net', node, { kind: 'netDump', links: !fromScratch });
    const links: Link[] = fromScratch ? dumpLinks(this.scratchSock!, nsid) : inside.links!;
    if (!fromScratch && !this.why) notes.push('links read from inside: veth peers not resolved');
    const addrs = inside.addrs;
    const nameOf = new Map(links.map((l) => [l.index, l.name]));
    const all: NetRule[] = inside.rules;
    // The main table, and every table a rule looks up (local and default among them, whose
    // kernel-made routes restore and diff leave to the kernel).
    const tables = new Set([TABLE_MAIN, ...all.filter((r) => r.action === 'lookup').map((r) => r.table)]);
    const routes: NetRoute[] = [];
    let complex = 0;
    for (const r of inside.routes) {
      if (!tables.has(r.table)) continue;
      if (r.complex) complex++;
      const { oif, ...rest } = r;
      routes.push({ ...rest, dev: nameOf.get(oif) ?? '' });
    }
    if (complex) notes.push(`${complex} multipath or encapsulated route${complex === 1 ? '' : 's'} recorded without detail`);
    const odd = all.filter((r) => r.complex).length;
    if (odd) notes.push(`${odd} rule${odd === 1 ? '' : 's'} with attributes beyond what ip rule sets, recorded without detail`);
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
    // A sysctl holding ids shows them as the READER's user namespace maps them. Defaults read by a
    // helper inside a user namespace of ours compare with what helpers read there (the namespaces
    // of a rootless container), not with what our own thread reads (the dumper's own namespace:
    // an unprivileged dumper's threads enter no other).
    const skipIds = this.defaultsElsewhere && node.inode === this.ctx.selfLinks.net;
    for (const [p, v] of values) {
      if (skipIds && ID_SYSCTLS.includes(p)) continue;
      if (this.defaults?.get(p) !== v) sysctls[sysctlName(p)] = v;
    }
    if (skipIds) notes.push(`${ID_SYSCTLS.map(sysctlName).join(', ')} not recorded: a fresh namespace's could only be read in another user namespace, which shows other group ids`);
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

