// Why: decides the processes `nsdump restore` makes, by replaying the dumped process tree. A
// namespace can only be made from inside its owner with capabilities there, a pid namespace only
// from inside its parent, and what is owned above one's user namespace can be inherited but never
// joined: so each namespace set is recreated by a process forked from the one that stands for its
// dumped parent, which joins what it can reach and makes what is new (one `unshare` per group, as
// the original did), and pid namespaces get their inits, and waiters their *_for_children, the way
// the original got them. Pure: no system calls, so every rule is unit-testable.
import { stateOf, type Image, type Namespace, type NsRefs } from '../model/image.js';
import { NS_LINKS, NS_TYPES, isHierarchical, type NsLink, type NsType } from '../model/species.js';
import type { Chain, ProcessStep } from './schema.js';
import { PlanError } from './validate.js';
import { flat } from './flat.js';

/** The ten links of a process, fully resolved (a missing *_for_children is the active one). */
export type Refs = Record<NsLink, number>;

export const setKey = (r: Refs) => NS_LINKS.map((l) => r[l]).join(',');

/**
 * The links with the missing *_for_children resolved. Written out (in NS_LINKS order, which a unit
 * test holds it to): it runs once per process and thread, and a generic copy was a fifth of
 * planning 100,000 namespaces.
 */
export function resolveRefs(r: NsRefs): Refs {
  return {
    user: r.user!,
    pid: r.pid!,
    mnt: r.mnt!,
    net: r.net!,
    ipc: r.ipc!,
    uts: r.uts!,
    cgroup: r.cgroup!,
    time: r.time!,
    pid_for_children: r.pid_for_children ?? r.pid!,
    time_for_children: r.time_for_children ?? r.time!,
  };
}

/** Everything a process has that matters for the next chain it runs or forks. */
interface Proc {
  n: number;
  refs: Refs;
  /** Full capabilities in its user namespace that survive exec (ambient, or root there). */
  caps: boolean;
  /** Its uid and gid as the executor's user namespace sees them (null: unknown there). */
  uid: number | null;
  gid: number | null;
  /** An agent that takes commands (not an unshare --fork waiter). */
  agent: boolean;
}

export interface Replay {
  processes: ProcessStep[];
  /** Set key → process standing for it. */
  setProcess: Map<string, number>;
}

/**
 * The /proc/PID/ns link through which the process of a chain reaches a namespace the chain made:
 * a waiter's pid and time namespaces are its *_for_children; otherwise the type's own link.
 */
export function linkOf(c: Chain, passive: boolean, t: NsType): NsLink {
  if (c.create[t] !== undefined && c.fork && passive && t === 'pid') return 'pid_for_children';
  if (c.create[t] !== undefined && c.fork && passive && t === 'time') return 'time_for_children';
  return t;
}

/** The namespace of type `t` a chain makes (by either unshare), if it makes one. */
const madeOfType = (c: Chain, t: NsType): number | undefined => c.createFirst[t] ?? c.create[t];

/** Every namespace a chain makes, with the link its process reaches it by. */
export function madeByChain(c: Chain, passive: boolean): { id: number; link: NsLink }[] {
  const out: { id: number; link: NsLink }[] = [];
  for (const t of NS_TYPES) {
    const id = madeOfType(c, t);
    if (id !== undefined) out.push({ id, link: linkOf(c, passive, t) });
  }
  return out;
}

const CHAIN_TYPES: NsType[] = ['mnt', 'net', 'ipc', 'uts', 'cgroup'];

function emptyChain(): Chain {
  return { setuid: null, join: {}, joinPidForChildren: null, createFirst: {}, forkFirst: false, create: {}, fork: false, time: null };
}

/** A readable one-line account of a chain. */
export function describeChain(c: Chain): string {
  const parts: string[] = [];
  if (c.setuid) parts.push(`setpriv uid ${c.setuid.uid} gid ${c.setuid.gid}`);
  const j = NS_TYPES.filter((t) => c.join[t] !== undefined).map((t) => `${t}#${c.join[t]}`);
  if (j.length) parts.push(`nsenter ${j.join(' ')}`);
  if (c.joinPidForChildren !== null) parts.push(`nsenter --no-fork pid_for_children#${c.joinPidForChildren}`);
  const f = NS_TYPES.filter((t) => c.createFirst[t] !== undefined).map((t) => `${t}#${c.createFirst[t]}`);
  if (f.length) parts.push(`unshare ${f.join(' ')}${c.forkFirst ? ' --fork' : ''}`);
  const m = NS_TYPES.filter((t) => c.create[t] !== undefined).map((t) => `${t}#${c.create[t]}`);
  if (m.length || c.fork) parts.push(`unshare ${m.join(' ')}${c.fork ? ' --fork' : ''}`.replace('  ', ' '));
  return parts.join(', then ') || 'nothing to change';
}

export class ReplayBuilder {
  private readonly ids: Map<number, Namespace>;
  private readonly made = new Set<number>();
  private readonly procs: Proc[] = [];
  readonly steps: ProcessStep[] = [];
  readonly setProcess = new Map<string, number>();
  private readonly own: Refs;

  constructor(
    private readonly img: Image,
    /** The plan's sets by set key (their numbers). */
    private readonly setNumber: ReadonlyMap<string, { n: number }>,
  ) {
    this.ids = new Map(img.namespaces.map((n) => [n.id, n]));
    for (const n of img.namespaces) if (n.inScope) this.made.add(n.id);
    this.own = ownRefs(img);
    this.procs.push({ n: 0, refs: this.own, caps: true, uid: 0, gid: 0, agent: true });
  }

  private ns(id: number): Namespace {
    return this.ids.get(id)!;
  }

  /** The user namespace that owns `id` (for a user namespace: its parent). */
  private ownerOf(id: number): number | null {
    const n = this.ns(id);
    return n.type === 'user' ? n.parent : n.owner;
  }

  private isAncestorOrSelf(user: number, of: number | null): boolean {
    for (let u = of; u !== null && this.ids.has(u); u = this.ns(u).parent) if (u === user) return true;
    return false;
  }

  /** An id inside user namespace `user`, as the executor's user namespace sees it (null: unmapped on the way). */
  toExec(user: number, id: number, kind: 'uid' | 'gid'): number | null {
    const u = this.ids.get(user);
    if (!u || u.inScope) return id;
    const s = stateOf(u, 'user');
    const l = (kind === 'uid' ? s.uidMap : s.gidMap).find((m) => id >= m.inside && id < m.inside + m.count);
    return l ? this.toExec(u.parent!, id - l.inside + l.outside, kind) : null;
  }

  /** The inverse of toExec: what an executor-side id is inside `user` (null: not mapped there). */
  fromExec(user: number, id: number | null, kind: 'uid' | 'gid'): number | null {
    if (id === null) return null;
    const u = this.ids.get(user);
    if (!u || u.inScope) return id;
    const p = this.fromExec(u.parent!, id, kind);
    if (p === null) return null;
    const s = stateOf(u, 'user');
    const l = (kind === 'uid' ? s.uidMap : s.gidMap).find((m) => p >= m.outside && p < m.outside + m.count);
    return l ? p - l.outside + l.inside : null;
  }

  private proc(n: number): Proc {
    return this.procs[n]!;
  }

  /** What a child forked by `p` starts with: the parent's *_for_children become its own. */
  private forkOf(p: Proc): Refs {
    return { ...p.refs, pid: p.refs.pid_for_children, time: p.refs.time_for_children };
  }

  /**
   * The chain that takes a process from `start` to `target`, run with the credentials of `by`.
   * Returns what the chain leaves: a waiter above the target (extra), or the target itself as a
   * waiter (passive), and the reason it cannot be done, if so.
   */
  private plan(start: Refs, target: Refs, by: Proc): { chain: Chain; passive: boolean; extraForks: number; caps: boolean; uid: number | null; gid: number | null } | string {
    const c = emptyChain();
    let userCreated = false;
    let userJoined = false;
    if (target.user !== start.user) {
      const u = this.ns(target.user);
      if (!this.made.has(target.user)) {
        if (u.parent !== start.user) return `user#${target.user} would be made inside user#${start.user}, but its parent is user#${u.parent}`;
        c.create.user = target.user;
        userCreated = true;
      } else {
        c.join.user = target.user;
        userJoined = true;
      }
    }
    const canMake = (id: number) => !this.made.has(id) && this.ownerOf(id) === target.user && !userJoined;
    // With a new user namespace, what the old one owns is made first, by an unshare of its own.
    const canMakeFirst = (id: number) => userCreated && !this.made.has(id) && this.ownerOf(id) === start.user;
    const joinOrMake = (t: NsType, id: number): string | null => {
      if (canMake(id)) c.create[t] = id;
      else if (canMakeFirst(id) && t !== 'time') c.createFirst[t] = id;
      else if (this.made.has(id)) c.join[t] = id;
      else return `${t}#${id} is owned by user#${this.ownerOf(id)}, and the process that would make it is in user#${target.user}${userJoined ? ' (joined, without capabilities to make anything)' : ''}`;
      return null;
    };
    for (const t of CHAIN_TYPES) {
      if (target[t] === start[t]) continue;
      const why = joinOrMake(t, target[t]);
      if (why) return why;
    }
    // Time: the active one is made by `unshare --time` followed by exec (since 6.2 exec enters
    // time_for_children) or joined (setns sets both); a time_for_children that differs from the
    // active one exists only in the process that made it and did not exec since: an unshare --fork waiter.
    let passive = false;
    let childGetsNewPidOrTime = false;
    if (target.time !== start.time) {
      const why = joinOrMake('time', target.time);
      if (why) return why;
      if (c.create.time !== undefined && target.time_for_children !== target.time) return `time#${target.time} and time_for_children#${target.time_for_children} would both have to be made by one process`;
    }
    if (target.time_for_children !== target.time) {
      if (!canMake(target.time_for_children)) return `time_for_children#${target.time_for_children} differs from time#${target.time}: only the process that made it can have it, and this one cannot make it`;
      c.create.time = target.time_for_children;
      c.fork = true;
      passive = true;
    }
    if (c.create.time !== undefined) {
      const s = stateOf(this.ns(c.create.time), 'time');
      if (s.monotonic.nanoseconds || s.boottime.nanoseconds) return `time#${c.create.time} has offsets with nanoseconds, which util-linux unshare cannot set`;
      c.time = { monotonic: s.monotonic.seconds, boottime: s.boottime.seconds };
    }
    let extraForks = 0;
    if (target.pid !== start.pid) {
      if (this.made.has(target.pid)) {
        if (!this.isPidDescendant(target.pid, start.pid)) return `pid#${target.pid} is not below pid#${start.pid}, where the process is`;
        c.join.pid = target.pid;
        extraForks++;
      } else if (canMake(target.pid) && this.ns(target.pid).parent === start.pid) {
        if (passive) return `pid#${target.pid} and time_for_children#${target.time_for_children} would both need the one fork of unshare`;
        c.create.pid = target.pid;
        c.fork = true;
        childGetsNewPidOrTime = true;
        extraForks++;
      } else if (canMakeFirst(target.pid) && this.ns(target.pid).parent === start.pid) {
        c.createFirst.pid = target.pid;
        c.forkFirst = true;
        extraForks++;
      } else {
        return `pid#${target.pid} can be neither joined nor made from pid#${start.pid} in user#${target.user}`;
      }
    }
    if (target.pid_for_children !== target.pid) {
      const fc = target.pid_for_children;
      if (this.made.has(fc)) {
        if (!this.isPidDescendant(fc, target.pid)) return `pid_for_children#${fc} is not below pid#${target.pid}`;
        c.joinPidForChildren = fc;
      } else if (canMake(fc) && this.ns(fc).parent === target.pid && !childGetsNewPidOrTime) {
        c.create.pid = fc;
        c.fork = true;
        passive = true;
      } else {
        return `pid_for_children#${fc} can be neither joined nor made by the process in pid#${target.pid}`;
      }
    }
    if (passive && c.create.time !== undefined && target.time !== start.time && c.join.time === undefined) return `time#${target.time} would be made by an unshare that forks, which leaves the waiter outside it`;
    if (extraForks > 1) return 'the process would need two forks (a pid namespace joined and another made)';

    // Capabilities: joining needs them over each namespace's owner; making anything but a user
    // namespace needs them in the user namespace it is made in.
    const joins = NS_TYPES.filter((t) => c.join[t] !== undefined).map((t) => c.join[t]!);
    if (c.joinPidForChildren !== null) joins.push(c.joinPidForChildren);
    for (const id of joins) {
      const owner = this.ns(id).type === 'user' ? id : this.ownerOf(id);
      if (!by.caps || !this.isAncestorOrSelf(start.user, owner)) return `joining ${this.ns(id).type}#${id} needs capabilities over user#${owner}, which the process in user#${start.user} does not have`;
    }
    const makesOthers = NS_TYPES.some((t) => t !== 'user' && c.create[t] !== undefined);
    if (makesOthers && !userCreated && !by.caps) return `making namespaces in user#${target.user} needs capabilities there`;
    if (Object.keys(c.createFirst).length && !by.caps) return `making namespaces in user#${start.user} needs capabilities there`;
    let uid = by.uid;
    let gid = by.gid;
    if (userCreated) {
      // The kernel lets a process make a user namespace only if its uid and gid are mapped where it is.
      const mapped = this.fromExec(start.user, uid, 'uid') !== null && this.fromExec(start.user, gid, 'gid') !== null;
      if (!mapped) {
        const s = stateOf(this.ns(start.user), 'user');
        if (!by.caps || !s.uidMap.length || !s.gidMap.length) return `user#${target.user} would be made by a process whose ids user#${start.user} does not map, and no id there can be taken`;
        c.setuid = { uid: s.uidMap[0]!.inside, gid: s.gidMap[0]!.inside };
        uid = this.toExec(start.user, c.setuid.uid, 'uid');
        gid = this.toExec(start.user, c.setuid.gid, 'gid');
      }
    }
    // After the chain: --keep-caps keeps every capability in a new user namespace; a joined one gives
    // capabilities after exec only to its root.
    const caps = userCreated ? true : userJoined ? this.fromExec(target.user, uid, 'uid') === 0 : by.caps;
    return { chain: c, passive, extraForks, caps, uid, gid };
  }

  private isPidDescendant(pid: number, of: number): boolean {
    for (let p: number | null = pid; p !== null; p = this.ns(p).parent) if (p === of) return true;
    return false;
  }

  /** Record what a chain made: later chains join it instead of making it again. */
  private markMade(c: Chain): void {
    // (madeByChain's ids, without the list and links it builds: this runs once per process.)
    for (const t of NS_TYPES) {
      const id = madeOfType(c, t);
      if (id !== undefined) this.made.add(id);
    }
  }

  /**
   * The kernel lets the creator of a user namespace write its maps itself, without capabilities in
   * the parent, when each map is one id — its own — (and setgroups is denied, for gid_map): what
   * `unshare --map-root-user` does.
   */
  private canSelfMap(user: number, uid: number | null, gid: number | null): boolean {
    const st = stateOf(this.ns(user), 'user');
    const parent = this.ns(user).parent!;
    const own = (m: { outside: number; count: number }[], id: number | null, kind: 'uid' | 'gid') => m.length === 0 || (m.length === 1 && m[0]!.count === 1 && id !== null && this.toExec(parent, m[0]!.outside, kind) === id);
    return own(st.uidMap, uid, 'uid') && own(st.gidMap, gid, 'gid') && (st.gidMap.length === 0 || st.setgroups === 'deny') && st.projidMap.length === 0;
  }

  /** A capable agent in `user` other than `not`, to write maps of a namespace made there. */
  private writerIn(user: number, not: number): number | null {
    if (this.ids.get(user)?.inScope ?? true) return 0;
    const p = this.capableAgentIn(user, not);
    if (p !== undefined) return p;
    // The executor, entering `user` with nsenter, has capabilities there after exec only as its root.
    return this.fromExec(user, 0, 'uid') === 0 && this.fromExec(user, 0, 'gid') === 0 ? 0 : null;
  }

  /** A process made so far (not the executor, not `not`) that takes commands and has capabilities in `user`. */
  private capableAgentIn(user: number, not = -1): number | undefined {
    return this.procs.find((q) => q.n !== not && q.n !== 0 && q.agent && q.caps && q.refs.user === user)?.n;
  }

  private push(step: Omit<ProcessStep, 'n' | 'summary' | 'uid' | 'gid'>, proc: Omit<Proc, 'n'>, summary: string): number {
    const n = this.steps.length + 1;
    // Written out, in the schema's order: spreads into a literal with `n` first took a slow path.
    this.steps.push({
      n,
      set: step.set,
      pids: step.pids,
      parent: step.parent,
      how: step.how,
      chain: step.chain,
      passive: step.passive,
      forkChild: step.forkChild,
      extraWaiter: step.extraWaiter,
      mapsWriter: step.mapsWriter,
      stub: step.stub,
      uid: proc.uid,
      gid: proc.gid,
      summary: flat(summary),
    });
    this.procs.push({ n, refs: proc.refs, caps: proc.caps, uid: proc.uid, gid: proc.gid, agent: proc.agent });
    return n;
  }

  /** Make a process that stands for `target`, forked by process `parent`. Returns its number. */
  add(target: Refs, parent: number, pids: number[], key = setKey(target)): number {
    const existing = this.setProcess.get(key);
    if (existing !== undefined) return existing;
    const set = this.setNumber.get(key)?.n ?? null;
    const who = `set ${set} (pid ${pids.slice(0, 3).join(', ')}${pids.length > 3 ? ', …' : ''})`;
    let by = this.proc(parent);
    // A waiter cannot fork on request: its designated child is the one its own fork made.
    const waiter = this.steps[parent - 1];
    if (parent !== 0 && waiter?.passive && waiter.forkChild === null && this.fitsForkChild(this.proc(parent), target)) {
      return this.addForkChild(parent, target, set, pids, who);
    }
    if (!by.agent) by = this.proc(0);
    // What no process made on the way (user namespaces between, namespaces owned above the
    // process's user namespace) is made first by stubs, as the original made it before.
    if (!this.made.has(target.user)) {
      const parentUser = this.ns(target.user).parent!;
      // (A fork keeps its parent's user namespace: forkOf changes only pid and time.)
      if (parentUser !== by.refs.user) by = this.proc(this.agentIn(parentUser));
    }
    // What the user namespace the chain starts in owns, the chain's first unshare makes itself.
    const startUser = by.refs.user;
    const makesUser = !this.made.has(target.user);
    for (const l of NS_LINKS) {
      const id = target[l];
      if (id < 0 || this.made.has(id) || isHierarchical(this.ns(id).type)) continue;
      const owner = this.ownerOf(id);
      if (owner !== target.user && !(makesUser && owner === startUser && this.ns(id).type !== 'time')) this.makeByStub(id);
    }
    let r = this.plan(this.forkOf(by), target, by);
    if (typeof r === 'string' && by.n !== 0) {
      // The executor can join anything below its own user namespace (and make what its own owns).
      const e = this.plan(this.forkOf(this.proc(0)), target, this.proc(0));
      if (typeof e !== 'string') {
        by = this.proc(0);
        r = e;
      }
    }
    if (typeof r === 'string') throw new PlanError(`${who} cannot be recreated: ${r}`);
    const mapsWriter = r.chain.create.user !== undefined ? (by.n === 0 ? 0 : by.caps ? by.n : null) : null;
    if (r.chain.create.user !== undefined && mapsWriter === null) throw new PlanError(`${who} cannot be recreated: nothing with capabilities in user#${this.forkOf(by).user} can write the maps of user#${r.chain.create.user}`);
    const extraWaiter = r.extraForks > 0;
    const n = this.push(
      { set, pids, parent: by.n, how: 'spawn', chain: r.chain, passive: r.passive, forkChild: null, extraWaiter, mapsWriter, stub: false },
      { refs: target, caps: r.caps, uid: r.uid, gid: r.gid, agent: !r.passive },
      `${r.passive ? 'waiter' : 'placeholder'} for ${who}: forked by ${by.n ? `process ${by.n}` : 'the executor'}, ${describeChain(r.chain)}${extraWaiter ? '; the waiter above it is ended once it is ready' : ''}`,
    );
    this.markMade(r.chain);
    this.setProcess.set(key, n);
    return n;
  }

  /** Whether the child a waiter forked can become `target` without changing its active pid. */
  private fitsForkChild(w: Proc, target: Refs): boolean {
    return target.pid === w.refs.pid_for_children && (target.time === w.refs.time_for_children || this.made.has(target.time));
  }

  private addForkChild(parent: number, target: Refs, set: number | null, pids: number[], who: string): number {
    const w = this.proc(parent);
    const start = this.forkOf(w);
    // The child starts as an agent with the waiter's credentials; it changes itself in place.
    const self: Proc = { ...w, n: -1, refs: start, agent: true };
    const r = setKey(start) === setKey(target) ? null : this.plan(start, target, self);
    if (typeof r === 'string') throw new PlanError(`${who} cannot be recreated: ${r}`);
    if (r && r.extraForks) throw new PlanError(`${who} cannot be recreated: it would have to change its own pid namespace`);
    let mapsWriter: number | null = null;
    if (r?.chain.create.user !== undefined) {
      mapsWriter = this.writerIn(start.user, -1) ?? (this.canSelfMap(r.chain.create.user, r.uid, r.gid) ? this.steps.length + 1 : null);
      if (mapsWriter === null) throw new PlanError(`${who} cannot be recreated: it makes user#${r.chain.create.user} in place, and no other process with capabilities in user#${start.user} is left to write its maps`);
    }
    const chain = r ? r.chain : null;
    const passive = r?.passive ?? false;
    const n = this.push(
      { set, pids, parent, how: 'fork-child', chain, passive, forkChild: null, extraWaiter: false, mapsWriter, stub: false },
      { refs: target, caps: r ? r.caps : w.caps, uid: r ? r.uid : w.uid, gid: r ? r.gid : w.gid, agent: !passive },
      `${passive ? 'waiter' : 'placeholder'} for ${who}: the child process ${parent} forked${chain ? `, then ${describeChain(chain)} in place` : ''}`,
    );
    this.steps[parent - 1]!.forkChild = n;
    if (chain) this.markMade(chain);
    this.setProcess.set(setKey(target), n);
    return n;
  }

  /** Waiters whose fork child no dumped process became: the child stays, standing for no set. */
  finish(): void {
    for (const s of [...this.steps]) {
      if (!s.passive || s.forkChild !== null) continue;
      const w = this.proc(s.n);
      const refs = this.forkOf(w);
      const n = this.push(
        { set: this.setNumber.get(setKey(refs))?.n ?? null, pids: [], parent: s.n, how: 'fork-child', chain: null, passive: false, forkChild: null, extraWaiter: false, mapsWriter: null, stub: false },
        { refs, caps: w.caps, uid: w.uid, gid: w.gid, agent: true },
        `the child process ${s.n} forked: it keeps that waiter alive (no dumped process was in its namespaces)`,
      );
      s.forkChild = n;
    }
  }

  /** Namespaces no process of the tree is in (held by an fd or a bind mount): a stub makes each. */
  addOrphans(): void {
    for (const n of this.img.namespaces) if (!this.made.has(n.id)) this.makeByStub(n.id);
  }

  /** A capable agent in `user` (0: the executor); stubs make it and its missing ancestors first. */
  private agentIn(user: number): number {
    if (this.ids.get(user)?.inScope ?? true) return 0;
    const p = this.capableAgentIn(user);
    if (p !== undefined) return p;
    if (this.made.has(user)) throw new PlanError(`no process with capabilities is left in user#${user} to make what it owns`);
    return this.makeByStub(user);
  }

  /** A stub process that makes namespace `id` from inside its owner; ended once the namespace is held. */
  private makeByStub(id: number): number {
    const n = this.ns(id);
    const owner = this.ownerOf(id);
    if (owner === null) throw new PlanError(`${n.type}#${n.id} has no owner to make it in`);
    const byN = this.agentIn(owner);
    const by = this.proc(byN);
    const start = this.forkOf(by);
    const target: Refs = { ...start };
    if (n.type === 'pid') {
      if (n.parent !== start.pid) throw new PlanError(`pid#${n.id} is held by no process of the tree, and nothing is in its parent pid#${n.parent} to make it`);
      target.pid = n.id;
      target.pid_for_children = n.id;
    } else if (n.type === 'time') {
      target.time = n.id;
      target.time_for_children = n.id;
    } else {
      target[n.type] = n.id;
    }
    const r = this.plan(start, target, by);
    if (typeof r === 'string') throw new PlanError(`${n.type}#${n.id} (in no process of the tree) cannot be made: ${r}`);
    const s = this.push(
      { set: null, pids: [], parent: byN, how: 'spawn', chain: r.chain, passive: false, forkChild: null, extraWaiter: r.extraForks > 0, mapsWriter: n.type === 'user' ? byN : null, stub: true },
      { refs: target, caps: r.caps, uid: r.uid, gid: r.gid, agent: true },
      `stub for ${n.type}#${n.id}, which no process of the tree is in: forked by ${byN ? `process ${byN}` : 'the executor'}, ${describeChain(r.chain)}; ended once it is held`,
    );
    this.markMade(r.chain);
    return s;
  }
}

/**
 * The executor's own set: the dumper's own namespaces. One that no process of the tree uses is not
 * in the image; a negative stand-in id keeps it distinct from everything that is.
 */
export function ownRefs(img: Image): Refs {
  const scope = new Map(img.namespaces.filter((n) => n.inScope).map((n) => [n.type, n.id]));
  const own = Object.fromEntries(NS_TYPES.map((t, i) => [t, scope.get(t) ?? -(i + 1)])) as Record<NsType, number>;
  return { ...own, pid_for_children: own.pid, time_for_children: own.time };
}

/** A process's or thread's links resolved, and its set key. */
export interface ResolvedRefs {
  refs: Refs;
  key: string;
}

/** The links of `r` resolved and keyed: from `known` (buildPlan worked them out) or anew. */
function resolvedOf(r: NsRefs, known: ReadonlyMap<NsRefs, ResolvedRefs> | undefined): ResolvedRefs {
  const k = known?.get(r);
  if (k) return k;
  const refs = resolveRefs(r);
  return { refs, key: setKey(refs) };
}

/** The processes of the dumped tree in depth-first order from the root, each with its parent's pid. */
export function treeOrder(img: Image, known?: ReadonlyMap<NsRefs, ResolvedRefs>): ({ pid: number; parent: number | null } & ResolvedRefs)[] {
  const byPid = new Map(img.processes.map((p) => [p.pid, p]));
  const children = new Map<number, number[]>();
  const rootPid = img.inventory.rootPid;
  // Validation refuses these first (wholeHostImagesHaveNoTreeToReplay); a guard for other callers.
  if (rootPid === null) throw new Error('a whole-host image (dump --all) has no process tree to replay');
  for (const p of img.processes) {
    if (p.pid === rootPid) continue;
    const parent = byPid.has(p.ppid) ? p.ppid : rootPid;
    // In place: a copy per child made a wide tree quadratic (20,000 children of one process).
    const kids = children.get(parent);
    if (kids) kids.push(p.pid);
    else children.set(parent, [p.pid]);
  }
  const threads = new Map<number, NsRefs[]>();
  for (const t of img.threads) {
    const of = threads.get(t.pid);
    if (of) of.push(t.namespaces);
    else threads.set(t.pid, [t.namespaces]);
  }
  const out: ({ pid: number; parent: number | null } & ResolvedRefs)[] = [];
  const seen = new Set<number>();
  // Iterative, so that a deep tree cannot overflow the stack.
  const stack: { pid: number; parent: number | null }[] = [{ pid: rootPid, parent: null }];
  while (stack.length) {
    const { pid, parent } = stack.pop()!;
    if (seen.has(pid) || !byPid.has(pid)) continue;
    seen.add(pid);
    const own = resolvedOf(byPid.get(pid)!.namespaces, known);
    out.push({ pid, parent, refs: own.refs, key: own.key });
    for (const t of threads.get(pid) ?? []) {
      const r = resolvedOf(t, known);
      out.push({ pid, parent: pid, refs: r.refs, key: r.key });
    }
    const kids = (children.get(pid) ?? []).sort((a, b) => b - a);
    for (const k of kids) stack.push({ pid: k, parent: pid });
  }
  return out;
}

/** Replay the tree: the process standing for each set, in the order they are made. */
export function buildReplay(img: Image, sets: ReadonlyMap<string, { n: number; pids: number[] }>, known?: ReadonlyMap<NsRefs, ResolvedRefs>): Replay {
  const b = new ReplayBuilder(img, sets);
  const procOfPid = new Map<number, number>();
  const ownKey = setKey(ownRefs(img));
  for (const p of treeOrder(img, known)) {
    const key = p.key;
    const parentProc = p.parent === null ? 0 : procOfPid.get(p.parent) ?? 0;
    // The dumper's own set is the executor's: nothing to make.
    const n = key === ownKey ? 0 : b.add(p.refs, parentProc, sets.get(key)?.pids ?? [p.pid], key);
    if (!procOfPid.has(p.pid)) procOfPid.set(p.pid, n);
  }
  b.finish();
  b.addOrphans();
  return { processes: b.steps, setProcess: b.setProcess };
}
