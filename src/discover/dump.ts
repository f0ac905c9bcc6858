// Why: the dump pipeline, stage by stage in a fixed order — processes, namespaces and their
// relations, holders, state, order — returning an Image. It owns every fd it opens and closes them
// all on every path out.
import { stat } from 'node:fs/promises';
import { close, open, readFileAt, uname } from '../kernel/ffi.js';
import { isErrno, SyscallError } from '../kernel/errors.js';
import { detectFeatures } from '../kernel/features.js';
import { nsGetId, nsGetTgidInPidns } from '../kernel/nsfs.js';
import { ThreadNamespaces } from '../kernel/switch.js';
import { FORMAT_VERSION, NSDUMP_VERSION } from '../model/format.js';
import type { Holder, Image, Namespace, NsRefs, Process, Thread } from '../model/image.js';
import { topoOrder } from '../model/order.js';
import { NS_LINKS, NS_TYPES, type NsType, linkType, nsTypeFromLinkName, parseNsLink } from '../model/species.js';
import { PermissionError, TreeChangedError } from './errors.js';
import { NsGraph, type NsNode, nodeKey } from './graph.js';
import { type LinkInodes, type ProcInfo, closeProcesses, readLinks, stillAlive, walkTree } from './processes.js';
import { parseNsPid, readText } from './procfs.js';
import { readCgroup, readNet } from './state/cgroup-net.js';
import { MountTables, StateContext, type StateResult } from './state/context.js';
import { readIpc, readMnt, readPid, readTime, readUts } from './state/simple.js';
import { UserStateReader } from './state/user.js';

export interface DumpOptions {
  /** Called between stages; tests use it to change the tree mid-dump. */
  onStage?: (stage: 'processes' | 'namespaces' | 'state') => void;
}

const CAP_SYS_PTRACE = 19n;
const CAP_SYS_ADMIN = 21n;

/** Reading other processes' namespaces needs CAP_SYS_PTRACE and CAP_SYS_ADMIN (in our user ns). */
export function checkPrivileges(): void {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readText('/proc/self/status'));
  const eff = m ? BigInt(`0x${m[1]}`) : 0n;
  if (!((eff >> CAP_SYS_PTRACE) & 1n) || !((eff >> CAP_SYS_ADMIN) & 1n)) {
    throw new PermissionError('dump needs root (CAP_SYS_ADMIN and CAP_SYS_PTRACE) to read other processes\' namespaces');
  }
}

export async function dumpTree(rootPid: number, opts: DumpOptions = {}): Promise<Image> {
  checkPrivileges();
  // Start libuv's thread pool before the main thread ever switches namespaces: a pool thread
  // created during a switch would stay in the foreign namespace for good (kernel-notes).
  await stat('/proc/self');
  const features = detectFeatures();
  const procs: ProcInfo[] = [];
  const graph = new NsGraph(features.nsGetId);
  let threads: ThreadNamespaces | undefined;
  try {
    walkTree(rootPid, procs);
    opts.onStage?.('processes');

    const members = new Map<string, number[]>();
    const timeForChildren = new Map<string, number[]>();
    const holders = new Map<string, Holder[]>();
    const push = <V>(m: Map<string, V[]>, k: string, v: V) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    const addLinks = (dir: string, links: LinkInodes, pid: number | null) => {
      for (const link of NS_LINKS) {
        const ino = links[link];
        if (ino === null) continue;
        const node = graph.addPath(`${dir}/ns/${link}`, linkType(link), ino);
        if (pid === null) continue;
        if (link === 'time_for_children') push(timeForChildren, node.key, pid);
        else if (link !== 'pid_for_children') push(members, node.key, pid);
      }
    };
    for (const p of procs) {
      addLinks(`/proc/${p.pid}`, p.links, p.pid);
      for (const t of p.threads) addLinks(`/proc/${p.pid}/task/${t.tid}`, t.links, null);
      for (const f of p.nsFds) {
        const node = graph.addPath(`/proc/${p.pid}/fd/${f.fd}`, f.type, f.inode);
        push(holders, node.key, { kind: 'fd', pid: p.pid, fd: f.fd });
      }
    }
    // nsfs bind mounts (ip netns add, unshare --uts=FILE) in every mount namespace the tree uses.
    const mountTables = new MountTables();
    for (const node of [...graph.nodes.values()]) {
      if (node.type !== 'mnt') continue;
      const pid = members.get(node.key)?.[0];
      if (pid === undefined) continue;
      for (const m of mountTables.get(node.key, pid)) {
        if (m.fsType !== 'nsfs') continue;
        const parsed = parseNsLink(m.root);
        const type = parsed && nsTypeFromLinkName(parsed[0]);
        if (!parsed || !type) continue;
        try {
          const held = graph.addPath(`/proc/${pid}/root${m.mountPoint}`, type, parsed[1]);
          push(holders, held.key, { kind: 'bind', pid, path: m.mountPoint });
        } catch (err) {
          // A mount over the bind mount hides it; it still holds the namespace but cannot be opened.
          if (!isErrno(err, 'ENOENT', 'EACCES')) throw err;
        }
      }
    }
    opts.onStage?.('namespaces');

    const selfLinks = readLinks('/proc/self');
    const scope = scopeOf(selfLinks, features.nsGetId);
    const scopeKeys = new Set(scope.map((s) => nodeKey(s.type, s.inode)));
    const order = topoOrder(
      [...graph.nodes.values()].map((n) => ({ key: n.key, type: n.type, sortKey: BigInt(n.nsId ?? n.inode), owner: n.owner, parent: n.parent })),
    );
    const ids = new Map(order.map((k, i) => [k, i + 1]));

    threads = new ThreadNamespaces();
    const ctx = new StateContext(graph, members, timeForChildren, threads, scopeKeys, features, selfLinks, mountTables);
    const users = new UserStateReader(ctx);
    const readers: Record<NsType, (n: NsNode) => StateResult<unknown>> = {
      user: (n) => users.read(n),
      pid: (n) => readPid(ctx, n),
      mnt: (n) => readMnt(ctx, n),
      net: (n) => readNet(ctx, n),
      ipc: (n) => readIpc(ctx, n),
      uts: (n) => readUts(ctx, n),
      cgroup: (n) => readCgroup(ctx, n),
      time: (n) => readTime(ctx, n),
    };
    const namespaces: Namespace[] = order.map((key) => {
      const n = graph.nodes.get(key)!;
      let result: StateResult<unknown>;
      try {
        result = readers[n.type](n);
      } catch (err) {
        // Inside a container some state is simply not ours to read: record why, keep going.
        if (!(err instanceof SyscallError) || !['EPERM', 'EACCES'].includes(err.code)) throw err;
        result = { state: null, note: `not readable from this scope: ${err.message}` };
      }
      const ref = (k: string | null) => (k === null ? null : ids.get(k)!);
      return {
        id: ids.get(key)!,
        type: n.type,
        inode: n.inode,
        device: n.device,
        nsId: n.nsId,
        owner: ref(n.owner),
        parent: ref(n.parent),
        ownerBeyondScope: n.ownerBeyondScope,
        parentBeyondScope: n.parentBeyondScope,
        inScope: scopeKeys.has(key),
        initial: n.initial,
        holders: (holders.get(key) ?? []).sort((a, b) => a.kind.localeCompare(b.kind) || a.pid - b.pid || (a.fd ?? 0) - (b.fd ?? 0) || (a.path ?? '').localeCompare(b.path ?? '')),
        state: result.state as Namespace['state'],
        stateNote: result.note,
      };
    });
    opts.onStage?.('state');

    // A process that exited while we read the rest would be described but no longer exist.
    for (const p of procs) {
      if (!stillAlive(p)) throw new TreeChangedError(`pid ${p.pid} exited`);
    }

    const refs = (links: LinkInodes): NsRefs =>
      Object.fromEntries(NS_LINKS.map((l) => [l, links[l] === null ? null : ids.get(nodeKey(linkType(l), links[l]!))!])) as NsRefs;
    const processes: Process[] = procs
      .map((p) => ({ pid: p.pid, ppid: p.ppid, comm: p.comm, nspid: nsPids(graph, p, features.pidnsTranslate), namespaces: refs(p.links) }))
      .sort((a, b) => a.pid - b.pid);
    const threadList: Thread[] = procs
      .flatMap((p) => p.threads.map((t) => ({ pid: p.pid, tid: t.tid, namespaces: refs(t.links) })))
      .sort((a, b) => a.pid - b.pid || a.tid - b.tid);
    const u = uname();
    return {
      inventory: {
        formatVersion: FORMAT_VERSION,
        nsdumpVersion: NSDUMP_VERSION,
        kernelRelease: u.release,
        features,
        scope: scope.map((s) => ({ ...s, id: ids.get(nodeKey(s.type, s.inode)) ?? null })),
        rootPid,
        time: Date.now(),
        hostname: u.nodename,
      },
      namespaces,
      processes,
      threads: threadList,
    };
  } finally {
    await threads?.close();
    graph.close();
    closeProcesses(procs);
  }
}

/**
 * A process's pid in every pid namespace from the dumper's inwards (as NSpid prints them, outermost
 * first): one ioctl per level where the kernel translates pids, else /proc/PID/status.
 */
function nsPids(graph: NsGraph, p: ProcInfo, translate: boolean): number[] {
  if (!translate) return parseNsPid(readFileAt(p.dirfd, 'status', `/proc/${p.pid}/status`));
  const chain: NsNode[] = [];
  for (let n = graph.nodes.get(nodeKey('pid', p.links.pid!)); n; n = n.parent ? graph.nodes.get(n.parent) : undefined) chain.push(n);
  return chain.reverse().map((n, i) => (i === 0 ? p.pid : nsGetTgidInPidns(n.fd, p.pid, `pid ${p.pid} in ${n.key}`)));
}

/** The dumper's own namespaces: what it stands in, and so the edge of what it can see. */
function scopeOf(links: LinkInodes, haveNsId: boolean): { type: NsType; inode: number; nsId: string | null }[] {
  return NS_TYPES.map((type) => {
    let nsId: string | null = null;
    if (haveNsId) {
      const fd = open(`/proc/self/ns/${type}`);
      try {
        nsId = nsGetId(fd);
      } finally {
        close(fd);
      }
    }
    return { type, inode: links[type]!, nsId };
  });
}
