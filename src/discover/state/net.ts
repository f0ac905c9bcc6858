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
import { fstatSync, statSync } from 'node:fs';
import type { NsNode } from '../graph.js';
import type { NetInterface, NetRoute, NetRule, StateOf } from '../../model/image.js';
import { FRESH_NAMESPACE_RULES, NET_SYSCTLS, ruleText } from '../../model/net.js';
import { close, open, openDir, readSysctlAt } from '../../kernel/ffi.js';
import { SyscallError } from '../../kernel/errors.js';
import { nsGetUserns } from '../../kernel/nsfs.js';
import { PROC_DYNAMIC_FIRST } from '../graph.js';
import { AF_INET, AF_INET6, TABLE_MAIN, assignNsid, closeRouteSocket, dumpAddrs, dumpLinks, dumpRoutes, dumpRules, openRouteSocket, type Link } from '../../kernel/netlink.js';
import type { StateContext, StateResult } from './context.js';

const SYSCTL_ROOT = '/proc/sys/net';

/** Values of `paths` in the thread's namespace; unreadable ones (EIO for an unset stable_secret) are left out. */
function readSysctls(paths: readonly string[]): Map<string, string> {
  // One directory fd per directory, opened here (inside the namespace), and each file opened
  // relative to it: a path walk through /proc/sys for every file cost ~1.5 times as much
  // (149 files: 3.2 ms against 2.0 ms a namespace).
  const out = new Map<string, string>();
  const dirs = new Map<string, number | null>();
  try {
    for (const p of paths) {
      const cut = p.lastIndexOf('/');
      const dir = p.slice(0, cut);
      let fd = dirs.get(dir);
      if (fd === undefined) {
        try {
          fd = openDir(`${SYSCTL_ROOT}/${dir}`);
        } catch {
          fd = null; // IPv6 may be compiled out or disabled at boot
        }
        dirs.set(dir, fd);
      }
      if (fd === null) continue;
      try {
        out.set(p, readSysctlAt(fd, p.slice(cut + 1)).trim().split(/\s+/).join(' '));
      } catch {
        // not there on this kernel, or not readable in this namespace (EIO, EPERM): not recorded
      }
    }
  } finally {
    for (const fd of dirs.values()) if (fd !== null) close(fd);
  }
  return out;
}

const sysctlName = (p: string) => `net.${p.replace(/\//g, '.')}`;

/**
 * A fresh network namespace of our own, made by util-linux unshare (creating a namespace is never
 * done on Node's own threads), returned as an open fd the caller closes; the helper has exited by
 * then. The reason instead, where we may not make one.
 */
export async function makeScratchNetns(): Promise<{ fd: number; inode: number } | { why: string }> {
  if (!canSwitchBack()) return { why: 'our own network namespace is owned by an ancestor user namespace: a switch into another could not be undone' };
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

/**
 * Whether this thread could come back to its own network namespace after a switch: setns needs
 * CAP_SYS_ADMIN over the namespace's owner, which a dumper inside a container lacks when it shares
 * a network namespace owned further up (kernel-notes). Asked before the scratch namespace is
 * entered, since a refused switch back ends the dump.
 */
function canSwitchBack(): boolean {
  const own = open('/proc/self/ns/net');
  try {
    const owner = nsGetUserns(own, 'owner of our own net namespace');
    try {
      const ownerIno = fstatSync(owner).ino;
      const userIno = statSync('/proc/self/ns/user').ino;
      // Owned by our own user namespace, or we are in the initial one (capable everywhere).
      return ownerIno === userIno || userIno < PROC_DYNAMIC_FIRST;
    } finally {
      close(owner);
    }
  } catch (err) {
    // EPERM: the owner lies beyond our scope — certainly not ours to switch back under.
    if (err instanceof SyscallError) return false;
    throw err;
  } finally {
    close(own);
  }
}

export class NetStateReader {
  /** Socket in the scratch namespace, where every dumped net namespace has an id of ours. */
  private readonly scratchSock: number | null = null;
  private readonly nsidOf = new Map<string, number>();
  private readonly keyOfNsid = new Map<number, string>();
  private readonly defaults = new Map<string, string>();
  private readonly paths: string[] = [];
  private readonly why: string = '';
  /** The rules of a fresh namespace (the scratch one's; where there is none, those verified on 6.18). */
  private readonly defaultRules: NetRule[] = FRESH_NAMESPACE_RULES;

  constructor(
    private readonly ctx: StateContext,
    /** Namespace key → image id. */
    private readonly ids: Map<string, number>,
    scratch: { fd: number; inode: number } | { why: string },
  ) {
    if ('why' in scratch) {
      this.why = `no scratch namespace (${scratch.why}): veth peers not resolved, sysctls not recorded`;
      return;
    }
    const { sock, paths, defaults } = ctx.threads.within('net', scratch.fd, scratch.inode, () => {
      // The ones this kernel has (readable in a fresh namespace) of the table's.
      const defaults = readSysctls(NET_SYSCTLS);
      return { sock: openRouteSocket(), paths: [...defaults.keys()], defaults };
    });
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
    const inside = this.ctx.threads.within('net', node.fd, node.inode, () => ({
      sock: openRouteSocket(),
      values: this.scratchSock === null ? new Map<string, string>() : readSysctls(this.paths),
    }));
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
      let linkNetns: number | null = null;
      let linkOutside = false;
      if (l.linkNsid !== null) {
        const key = this.scratchSock !== null && this.nsidOf.has(node.key) ? this.keyOfNsid.get(l.linkNsid) : undefined;
        if (key === undefined) linkOutside = true;
        else if (key !== node.key) linkNetns = this.ids.get(key)!;
      }
      return {
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
    });
    const sysctls: Record<string, string> = {};
    for (const [p, v] of inside.values) if (this.defaults.get(p) !== v) sysctls[sysctlName(p)] = v;
    const isDefault = new Set(this.defaultRules.map(ruleText));
    const present = new Set(all.map(ruleText));
    const rules = all.filter((r) => !isDefault.has(ruleText(r)));
    const missingDefaultRules = this.defaultRules.filter((r) => !present.has(ruleText(r)));
    return { state: { interfaces, routes, rules, missingDefaultRules, sysctls }, note: notes.join('; ') };
  }

  close(): void {
    if (this.scratchSock !== null) closeRouteSocket(this.scratchSock);
  }
}

