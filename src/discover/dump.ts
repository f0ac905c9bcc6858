// Why: the dump pipeline, stage by stage in a fixed order — processes, namespaces and their
// relations, holders, state, credentials, assembly — returning an Image; and around it the retry
// loop and the optional freeze. It owns every fd it opens and closes them all on every path out.
// A process that exits mid-dump no longer exists, so it is simply left out — unless the rest of
// the image needed it (the root, or the parent of a process still there): only then is the dump
// tried again.
import { stat } from 'node:fs/promises';
import { close, open, openDir, readFileAt, uname } from '../kernel/ffi.js';
import { SyscallError } from '../kernel/errors.js';
import { detectFeatures } from '../kernel/features.js';
import { nsGetId, nsGetTgidInPidns } from '../kernel/nsfs.js';
import { ThreadNamespaces } from '../kernel/switch.js';
import { FORMAT_VERSION, NSDUMP_VERSION } from '../model/format.js';
import type { Credentials, Holder, Image, Namespace, NsRefs, Process, Thread } from '../model/image.js';
import { topoOrder } from '../model/order.js';
import { NS_LINKS, NS_TYPES, type NsType, linkType, nsTypeFromLinkName, parseNsLink } from '../model/species.js';
import { overflowIds, parseCredentials } from './credentials.js';
import { DumpAbortedError, TreeChangedError } from './errors.js';
import { Freezer } from './freeze.js';
import { NsGraph, type NsNode, nodeKey } from './graph.js';
import { type LinkInodes, type ProcInfo, type WalkGaps, closeProcesses, readLinks, stillAlive, walkAll, walkTree } from './processes.js';
import { parseNsPid } from './procfs.js';
import { readCgroup } from './state/cgroup.js';
import { NetStateReader, makeScratchNetns } from './state/net.js';
import { type Member, MountTables, StateContext, type StateResult, isVanished } from './state/context.js';
import { readIpc, readMnt, readPid, readTime, readUts } from './state/simple.js';
import { UserStateReader } from './state/user.js';

export type DumpStage = 'processes' | 'namespaces' | 'state';

/** What to dump: the tree below one process, or every process the dumper can see. */
export type DumpTarget = { pid: number } | { all: true };

export interface DumpOptions {
  /** Called between stages; tests use it to change the tree mid-dump. */
  onStage?: (stage: DumpStage) => void;
  /** Aborting it ends the dump at the next stage or every few hundred processes. */
  signal?: AbortSignal;
}

export interface DumpLoopOptions extends DumpOptions {
  /** Dump again this many times when the tree changed in a way the image cannot leave out. */
  retries?: number;
  /** Stop the tree with SIGSTOP for the dump, and resume exactly what was stopped afterwards. */
  freeze?: boolean;
}

/** What each namespace type's state is, for the note that says it was not recorded. */
const STATE_WHAT: Record<NsType, string> = {
  user: 'id maps and setgroups',
  pid: 'level',
  mnt: 'mount table',
  net: 'interfaces',
  ipc: 'ipc sysctls',
  uts: 'hostname and domainname',
  cgroup: 'cgroup root',
  time: 'clock offsets',
};

/** Let the event loop run (signals are delivered there), then stop if asked to. */
function pauser(signal: AbortSignal | undefined): () => Promise<void> {
  return async () => {
    if (!signal) return;
    await new Promise((r) => setImmediate(r));
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new DumpAbortedError(String(signal.reason));
  };
}

/**
 * The whole dump as the command runs it: freeze if asked, then dump, again while the tree keeps
 * changing in ways the image cannot leave out (up to `retries` more times), and always resume
 * what was frozen.
 */
export async function dump(target: DumpTarget, opts: DumpLoopOptions = {}): Promise<Image> {
  const freezer = opts.freeze && 'pid' in target ? new Freezer() : undefined;
  try {
    if (freezer && 'pid' in target) await freezer.freeze(target.pid, pauser(opts.signal));
    for (let attempt = 0; ; attempt++) {
      try {
        return await dumpOnce(target, opts);
      } catch (err) {
        if (!(err instanceof TreeChangedError) || attempt >= (opts.retries ?? 2)) throw err;
      }
    }
  } finally {
    freezer?.resume();
  }
}

/** One attempt at the tree below `rootPid`. */
export function dumpTree(rootPid: number, opts: DumpOptions = {}): Promise<Image> {
  return dumpOnce({ pid: rootPid }, opts);
}

export async function dumpOnce(target: DumpTarget, opts: DumpOptions = {}): Promise<Image> {
  try {
    return await dumpStages(target, opts);
  } catch (err) {
    // Whatever file or ioctl saw a process or namespace disappear first, it is a change of the
    // tree, not a bug: the stages leave out what they can, and what reaches here cost the image
    // something it needed.
    if (err instanceof SyscallError && isVanished(err)) throw new TreeChangedError(`${err.message}`);
    throw err;
  }
}

async function dumpStages(target: DumpTarget, opts: DumpOptions): Promise<Image> {
  const pause = pauser(opts.signal);
  // Start libuv's thread pool before the main thread ever switches namespaces: a pool thread
  // created during a switch would stay in the foreign namespace for good (kernel-notes).
  await stat('/proc/self');
  await pause();
  const features = detectFeatures();
  const procs: ProcInfo[] = [];
  const gaps: WalkGaps = { unreadable: [] };
  const graph = new NsGraph(features.nsGetId);
  const gone = new Set<number>();
  let threads: ThreadNamespaces | undefined;
  let nets: NetStateReader | undefined;
  let scratchFd: number | undefined;
  let selfDir: number | undefined;
  try {
    if ('pid' in target) await walkTree(target.pid, procs, gaps, pause);
    else await walkAll(procs, gaps, pause);
    const rootPid = 'pid' in target ? target.pid : null;
    opts.onStage?.('processes');
    await pause();

    // ---- namespaces: one fd per distinct namespace, through each process's links and fds ----
    const members = new Map<string, Member[]>();
    const timeForChildren = new Map<string, Member[]>();
    const fdHolders = new Map<string, Holder[]>();
    const push = <V>(m: Map<string, V[]>, k: string, v: V) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    const threadKeys = new Map<number, Set<string>>();
    for (const [i, p] of procs.entries()) {
      if (i % 256 === 255) await pause();
      const dir = `/proc/${p.pid}`;
      const mine: [NsLinkKind, string][] = [];
      try {
        for (const link of NS_LINKS) {
          const ino = p.links[link];
          if (ino !== null) mine.push([link === 'time_for_children' ? 'tfc' : link === 'pid_for_children' ? 'pfc' : 'member', graph.addPath(`${dir}/ns/${link}`, linkType(link), ino).key]);
        }
      } catch (err) {
        // Gone before its namespaces could be pinned: it is left out (checked again at the end).
        if (!isVanished(err)) throw err;
        gone.add(p.pid);
        continue;
      }
      for (const [kind, key] of mine) {
        if (kind === 'member') push(members, key, p);
        else if (kind === 'tfc') push(timeForChildren, key, p);
      }
      const tk = new Set<string>();
      p.threads = p.threads.filter((t) => {
        try {
          for (const link of NS_LINKS) {
            const ino = t.links[link];
            if (ino !== null) tk.add(graph.addPath(`${dir}/task/${t.tid}/ns/${link}`, linkType(link), ino).key);
          }
          return true;
        } catch (err) {
          if (isVanished(err)) return false; // the thread ended
          throw err;
        }
      });
      threadKeys.set(p.pid, tk);
      for (const f of p.nsFds) {
        try {
          const node = graph.addPath(`${dir}/fd/${f.fd}`, f.type, f.inode);
          f.type = node.type;
          push(fdHolders, node.key, { kind: 'fd', pid: p.pid, fd: f.fd });
        } catch (err) {
          if (isVanished(err)) continue; // closed meanwhile: it holds nothing any more
          throw err;
        }
      }
    }
    // nsfs bind mounts (ip netns add, unshare --uts=FILE) in every mount namespace the tree uses.
    const mountTables = new MountTables();
    const bindHolders = new Map<string, { mnt: string; path: string; type: NsType }[]>();
    const bindSeers = new Map<string, Member>();
    for (const node of [...graph.nodes.values()]) {
      if (node.type !== 'mnt') continue;
      for (const m of members.get(node.key) ?? []) {
        if (gone.has(m.pid)) continue;
        let table;
        try {
          table = mountTables.get(node.key, m);
        } catch (err) {
          if (!isVanished(err)) throw err;
          gone.add(m.pid);
          continue;
        }
        for (const mount of table) {
          if (mount.fsType !== 'nsfs') continue;
          const parsed = parseNsLink(mount.root);
          const type = parsed && nsTypeFromLinkName(parsed[0]);
          if (!parsed || !type) continue;
          try {
            const held = graph.addPath(`/proc/self/fd/${m.dirfd}/root${mount.mountPoint}`, type, parsed[1]);
            push(bindHolders, held.key, { mnt: node.key, path: mount.mountPoint, type });
          } catch (err) {
            // A mount over the bind mount hides it; it still holds the namespace but cannot be opened.
            if (!isVanished(err) && !(err instanceof SyscallError && err.code === 'EACCES')) throw err;
          }
        }
        bindSeers.set(node.key, m);
        break;
      }
    }
    opts.onStage?.('namespaces');
    await pause();

    const selfLinks = readLinks('/proc/self');
    selfDir = openDir(`/proc/${process.pid}`);
    const scope = scopeOf(selfLinks, features.nsGetId);
    const scopeKeys = new Set(scope.map((s) => nodeKey(s.type, s.inode)));

    // Leave out what only processes that are gone referred to (their namespaces may be gone too).
    const prune = () => {
      const keep = new Set<string>();
      const add = (k: string | null) => {
        for (let key = k; key && !keep.has(key); ) {
          keep.add(key);
          const n = graph.nodes.get(key);
          if (!n) break;
          add(n.parent);
          key = n.owner;
        }
      };
      for (const p of procs) {
        if (gone.has(p.pid)) continue;
        for (const link of NS_LINKS) if (p.links[link] !== null) add(nodeKey(linkType(link), p.links[link]!));
        for (const k of threadKeys.get(p.pid) ?? []) add(k);
      }
      for (const [key, hs] of fdHolders) if (hs.some((h) => !gone.has(h.pid))) add(key);
      for (const [key, bs] of bindHolders) if (bs.some((b) => keep.has(b.mnt))) add(key);
      graph.retain(keep);
    };
    prune();

    const order = topoOrder(
      [...graph.nodes.values()].map((n) => ({ key: n.key, type: n.type, sortKey: BigInt(n.nsId ?? n.inode), owner: n.owner, parent: n.parent })),
    );

    // ---- state ----
    // Made before any thread switches: it is a helper process, waited for asynchronously.
    const hasNet = [...graph.nodes.values()].some((n) => n.type === 'net');
    const scratch = hasNet ? await makeScratchNetns() : { why: 'no net namespace' };
    if ('fd' in scratch) scratchFd = scratch.fd;
    threads = new ThreadNamespaces();
    const self: Member = { pid: process.pid, dirfd: selfDir };
    const ctx = new StateContext(graph, members, timeForChildren, threads, scopeKeys, features, selfLinks, self, mountTables, gone);
    const users = new UserStateReader(ctx);
    nets = new NetStateReader(ctx, scratch);
    const netReader = nets;
    const readers: Record<NsType, (n: NsNode) => StateResult<unknown>> = {
      user: (n) => users.read(n),
      pid: (n) => readPid(ctx, n),
      mnt: (n) => readMnt(ctx, n),
      net: (n) => netReader.read(n),
      ipc: (n) => readIpc(ctx, n),
      uts: (n) => readUts(ctx, n),
      cgroup: (n) => readCgroup(ctx, n),
      time: (n) => readTime(ctx, n),
    };
    const states = new Map<string, StateResult<unknown>>();
    for (const [i, key] of order.entries()) {
      if (i % 64 === 63) await pause();
      const n = graph.nodes.get(key)!;
      try {
        states.set(key, readers[n.type](n));
      } catch (err) {
        // Beyond the dumper's scope some state is not ours to read: record why, per namespace.
        if (!(err instanceof SyscallError) || !['EPERM', 'EACCES'].includes(err.code)) throw err;
        states.set(key, { state: null, note: `${STATE_WHAT[n.type]} not recorded: not readable from this scope (${err.message})` });
      }
    }
    opts.onStage?.('state');
    await pause();

    // ---- per process: pids at every level, credentials ----
    const overflow = overflowIds();
    const nspids = new Map<number, number[]>();
    const creds = new Map<number, Credentials>();
    for (const [i, p] of procs.entries()) {
      if (i % 256 === 255) await pause();
      if (gone.has(p.pid)) continue;
      try {
        const status = readFileAt(p.dirfd, 'status', `/proc/${p.pid}/status`);
        creds.set(p.pid, parseCredentials(status, overflow));
        nspids.set(p.pid, nsPids(graph, p, features.pidnsTranslate, status));
      } catch (err) {
        if (!isVanished(err)) throw err;
        gone.add(p.pid);
      }
    }

    // A process that exited while we read the rest no longer exists: leave it out — unless the
    // image needs it. The root is the image; a parent of a process still there is a link the
    // replay of the tree needs (its children now hang elsewhere in the kernel's tree).
    for (const p of procs) if (!gone.has(p.pid) && !stillAlive(p)) gone.add(p.pid);
    if (rootPid !== null && gone.has(rootPid)) throw new TreeChangedError(`pid ${rootPid} (the root) exited`);
    if (rootPid !== null) {
      const orphan = procs.find((p) => !gone.has(p.pid) && gone.has(p.ppid));
      if (orphan) throw new TreeChangedError(`pid ${orphan.ppid}, the parent of pid ${orphan.pid}, exited`);
    }
    prune();

    // ---- assemble ----
    const kept = order.filter((k) => graph.nodes.has(k));
    const ids = new Map(kept.map((k, i) => [k, i + 1]));
    nets.resolvePeers(ids);
    const ref = (k: string | null) => (k === null ? null : ids.get(k)!);
    const live = procs.filter((p) => !gone.has(p.pid));
    const holdersOf = (key: string): Holder[] => {
      const fd = (fdHolders.get(key) ?? []).filter((h) => !gone.has(h.pid));
      const bind = (bindHolders.get(key) ?? []).flatMap((b): Holder[] => {
        // Name a process still in the mount namespace where the bind mount is.
        const seer = [bindSeers.get(b.mnt), ...(members.get(b.mnt) ?? [])].find((m) => m && !gone.has(m.pid) && m.pid !== process.pid);
        return seer && graph.nodes.has(b.mnt) ? [{ kind: 'bind', pid: seer.pid, path: b.path }] : [];
      });
      return [...fd, ...bind].sort((a, b) => a.kind.localeCompare(b.kind) || a.pid - b.pid || (a.fd ?? 0) - (b.fd ?? 0) || (a.path ?? '').localeCompare(b.path ?? ''));
    };
    const namespaces: Namespace[] = kept.map((key) => {
      const n = graph.nodes.get(key)!;
      const result = states.get(key)!;
      // readers[n.type] read the state: it is this type's (the map cannot say so to TypeScript).
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
        holders: holdersOf(key),
        state: result.state,
        stateNote: result.note,
      } as Namespace;
    });
    const refs = (links: LinkInodes): NsRefs =>
      Object.fromEntries(NS_LINKS.map((l) => [l, links[l] === null ? null : ids.get(nodeKey(linkType(l), links[l]!))!])) as NsRefs;
    const processes: Process[] = live
      .map((p) => ({ pid: p.pid, ppid: p.ppid, comm: p.comm, nspid: nspids.get(p.pid)!, namespaces: refs(p.links), credentials: creds.get(p.pid) ?? null }))
      .sort((a, b) => a.pid - b.pid);
    const threadList: Thread[] = live
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
        unreadablePids: [...gaps.unreadable].sort((a, b) => a - b),
        time: Date.now(),
        hostname: u.nodename.toString('utf8'), // for people: U+FFFD where not UTF-8
      },
      namespaces,
      processes,
      threads: threadList,
    };
  } finally {
    nets?.close();
    if (scratchFd !== undefined) close(scratchFd);
    await threads?.close();
    graph.close();
    closeProcesses(procs);
    if (selfDir !== undefined) close(selfDir);
  }
}

type NsLinkKind = 'member' | 'tfc' | 'pfc';

/**
 * A process's pid in every pid namespace from the dumper's inwards (as NSpid prints them, outermost
 * first): one ioctl per level where the kernel translates pids, else its status file.
 */
function nsPids(graph: NsGraph, p: ProcInfo, translate: boolean, status: string): number[] {
  if (!translate) return parseNsPid(status);
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
