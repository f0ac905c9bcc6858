// Why: turns a validated image into the ordered restore plan. Pure: no system calls, so every
// ordering rule is unit-testable. Order comes from the image (owners and parents first, user
// namespaces first); each namespace is made from inside its owner (and, for pid, its parent).
import { stateOf, type Image, type Namespace, type NsRefs } from '../model/image.js';
import { quotedText } from '../model/kernel-text.js';
import { JOIN_ORDER, NS_TYPES, SPECIES, type NsType } from '../model/species.js';
import { cannotMake, has, parseKernelVersion, type KernelVersion } from '../model/kernels.js';
import type { Plan, Step } from './schema.js';
import { PLAN_VERSION } from './version.js';
import { flat } from './flat.js';
import { buildReplay, resolveRefs, setKey as refsKey, type ResolvedRefs } from './replay.js';
import { PlanError } from './validate.js';
import { planNet, type ExternalMapping } from './net.js';

export interface Target {
  /** "X.Y" of the kernel the plan is for. */
  kernel: string;
  /** setns(pidfd, flags) available (model/kernels.ts: 5.8; with CLONE_NEWTIME from 5.9). */
  pidfd: boolean;
}

/** Per-namespace joins for a privileged executor: everything else first, the user namespace last. */
export const SEQUENCE_ORDER: NsType[] = JOIN_ORDER;

const ref = (n: Namespace) => `${n.type}#${n.id}`;
/** A step before it is numbered (Omit, distributed over the union). */
type Unnumbered = Step extends infer S ? (S extends Step ? Omit<S, 'n'> : never) : never;
/** The holder process that keeps a created namespace open (an fd on it). */
export const holderName = (n: { type: NsType; id: number }) => `hold-${n.type}-${n.id}`;

/** The target's version; an unparsable one (not from targetOf) counts as the oldest. */
const versionOf = (target: Target): KernelVersion => parseKernelVersion(target.kernel) ?? [0, 0];

function maps(m: { inside: number; outside: number; count: number }[]): string {
  return m.map((l) => `${l.inside} ${l.outside} ${l.count}`).join(', ') || 'none';
}

type SetInfo = { n: number; refs: NsRefs; pids: number[] };

/** Every type, nothing in it: copied (a spread of one shape is cheap; steps are made by the 100,000). */
const NO_NAMESPACES: Readonly<Record<NsType, number | null>> = Object.freeze(Object.fromEntries(NS_TYPES.map((t) => [t, null])) as Record<NsType, number | null>);

function createStep(n: Namespace, ids: readonly Namespace[], initSet: SetInfo | undefined): Unnumbered {
  const reused = (id: number | null) => id === null || ids[id]!.inScope;
  const owner = (n.type === 'user' ? n.parent : n.owner)!;
  const enter = { ...NO_NAMESPACES };
  if (!reused(owner)) enter.user = owner;
  if (n.type === 'pid') {
    if (!reused(n.parent)) enter.pid = n.parent;
    // The init joins the rest of the set it serves, so that it is that set's placeholder too.
    if (initSet) for (const t of NS_TYPES) if (t !== 'pid' && t !== 'user' && !reused(initSet.refs[t])) enter[t] = initSet.refs[t];
  }
  const entered = NS_TYPES.filter((t) => enter[t] !== null).map((t) => `${t}#${enter[t]}`);
  const inside = entered.join(', ') || "the executor's own namespaces";
  const step = {
    op: 'create' as const,
    type: n.type,
    creates: [n.id],
    owner,
    parent: n.type === 'pid' || n.type === 'user' ? n.parent : null,
    enter,
    holder: holderName(n),
    init: n.type === 'pid' ? (initSet ? `set-${initSet.n}` : `init-pid-${n.id}`) : null,
    user: n.type === 'user' ? (({ setgroups, uidMap, gidMap, projidMap }) => ({ setgroups, uidMap, gidMap, projidMap }))(stateOf(n, 'user')) : null,
    uts: n.type === 'uts' ? { ...stateOf(n, 'uts') } : null,
    ipc: n.type === 'ipc' ? { sysctls: { ...stateOf(n, 'ipc').sysctls } } : null,
    time: n.type === 'time' ? { ...stateOf(n, 'time') } : null,
    summary: '',
  };
  let what = `create ${ref(n)} from inside ${inside}`;
  if (n.type === 'user') {
    const u = step.user!;
    what += `; from user#${owner} write setgroups ${u.setgroups}, uid_map ${maps(u.uidMap)}, gid_map ${maps(u.gidMap)}` + (u.projidMap.length ? `, projid_map ${maps(u.projidMap)}` : '');
  }
  if (n.type === 'pid') what += `; its init (pid 1) is placeholder ${step.init}, which lives until release`;
  if (step.uts) what += `; from inside it set hostname ${quotedText(step.uts.hostname)}, domainname ${quotedText(step.uts.domainname)}`;
  if (step.ipc) what += `; its creator sets ${Object.keys(step.ipc.sysctls).length} ipc sysctls inside`;
  if (step.time) what += `; offsets monotonic ${step.time.monotonic.seconds}.${String(step.time.monotonic.nanoseconds).padStart(9, '0')} s, boottime ${step.time.boottime.seconds}.${String(step.time.boottime.nanoseconds).padStart(9, '0')} s, written before anything enters`;
  step.summary = `${what}; holder process ${step.holder} keeps it open`;
  return step;
}

/** Creation order: user namespaces, then the other kinds, then pid namespaces (whose inits join the rest). */
const CREATE_RANK = (t: NsType) => (t === 'user' ? 0 : t === 'pid' ? 2 : 1);

export function buildPlan(img: Image, target: Target, opts: { external?: ExternalMapping[] } = {}): Plan {
  // By image id (an array: ids are small positive integers, dense once validated).
  const ids: Namespace[] = [];
  for (const n of img.namespaces) ids[n.id] = n;
  const version = versionOf(target);
  const unmakeable = cannotMake(version, img.namespaces.filter((n) => !n.inScope));
  if (unmakeable) throw new PlanError(unmakeable);

  // Namespace sets in use, by first pid; threads that left their leader's sets count too.
  const sets = new Map<string, SetInfo>();
  // Sets are told apart by all ten links: *_for_children count (an unshare --fork waiter's differ).
  // Each process's and thread's resolved links and set key, worked out once: the replay reads them
  // again (the same key string, whose hash V8 keeps, instead of a new one to hash).
  const resolved = new Map<NsRefs, ResolvedRefs>();
  const inSet = (id: number, refs: NsRefs) => {
    const r = resolveRefs(refs);
    const k = refsKey(r);
    resolved.set(refs, { refs: r, key: k });
    const s = sets.get(k);
    if (s) s.pids.push(id);
    else sets.set(k, { n: sets.size + 1, refs, pids: [id] });
  };
  for (const p of img.processes) inSet(p.pid, p.namespaces);
  for (const t of img.threads) inSet(t.tid, t.namespaces);
  const root = img.processes.find((p) => p.pid === img.inventory.rootPid);
  const rootSet = root ? sets.get(resolved.get(root.namespaces)!.key)!.n : 1;
  // A pid namespace's init serves the first set that lives in it, if that set's user namespace owns it.
  const initSetOf = new Map<number, SetInfo>();
  for (const s of sets.values()) {
    const pid = ids[s.refs.pid!]!;
    if (!pid.inScope && !initSetOf.has(pid.id) && s.refs.user === pid.owner) initSetOf.set(pid.id, s);
  }
  const initOf = new Map([...initSetOf].map(([pid, s]) => [s.n, pid]));

  const steps: Step[] = [];
  // Numbered as they are added (`n` last, where a copy with it used to put it): no second pass.
  const add = (s: Unnumbered) => {
    (s as Step).n = steps.length + 1;
    s.summary = flat(s.summary);
    steps.push(s as Step);
  };
  const toCreate = img.namespaces.filter((n) => !n.inScope).sort((a, b) => CREATE_RANK(a.type) - CREATE_RANK(b.type) || a.id - b.id);
  for (const n of toCreate) add(createStep(n, ids, n.type === 'pid' ? initSetOf.get(n.id) : undefined));

  for (const s of sets.values()) {
    const namespaces = { ...NO_NAMESPACES } as Record<NsType, number>;
    for (const t of NS_TYPES) namespaces[t] = s.refs[t]!;
    const init = initOf.get(s.n) ?? null;
    const of = `(the set of pid ${s.pids.slice(0, 5).join(', ')}${s.pids.length > 5 ? ', …' : ''})`;
    let where = '';
    for (const t of NS_TYPES) where += `${where ? ' ' : ''}${t}#${namespaces[t]}`;
    add({
      op: 'spawn',
      set: s.n,
      placeholder: `set-${s.n}`,
      namespaces,
      pids: s.pids,
      initOf: init,
      summary: init
        ? `placeholder set-${s.n} is pid#${init}'s init, made with it, in ${where} ${of}`
        : `spawn placeholder set-${s.n} in ${where} ${of}`,
    });
  }
  const pidfdTime = has(version, 'setns-pidfd-time');
  // Joining one's own user namespace is EINVAL and would fail the whole atomic call: the two lists of
  // flags, by whether the set's user namespace is created, with how the summary says them.
  const flagsOf = [false, true].map((user) => {
    const flags = NS_TYPES.filter((t) => t !== 'user' || user);
    return { flags, text: flags.map((f) => SPECIES[f].flagName).join('|') };
  });
  for (const s of sets.values()) {
    const created = NS_TYPES.filter((t) => !ids[s.refs[t]!]!.inScope);
    const needsTime = created.includes('time');
    const pidfd = target.pidfd && (!needsTime || pidfdTime);
    if (pidfd) {
      const { flags, text } = flagsOf[created.includes('user') ? 1 : 0]!;
      add({ op: 'attach-pidfd', set: s.n, target: `set-${s.n}`, flags: [...flags], summary: `attach set ${s.n}: setns(pidfd of set-${s.n}, ${text}), atomically` });
    } else {
      const sequence = SEQUENCE_ORDER.filter((t) => created.includes(t)).map((t) => ({ type: t, ns: s.refs[t]!, holder: holderName({ type: t, id: s.refs[t]! }) }));
      add({
        op: 'attach-sequence',
        set: s.n,
        sequence,
        summary: sequence.length ? `attach set ${s.n}: setns in turn into ${sequence.map((q) => `${q.type}#${q.ns}`).join(', ')} (user last)` : `attach set ${s.n}: nothing to join, it is the executor's own set`,
      });
    }
  }
  // What restore cannot do is said, not thrown: the steps above still serve orchestration scripts.
  let processes: Plan['processes'] = [];
  let cannotRestore: string | null = null;
  try {
    processes = buildReplay(img, sets, resolved).processes;
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    cannotRestore = err.message;
  }
  return {
    version: PLAN_VERSION,
    target,
    reuse: img.namespaces.filter((n) => n.inScope).map((n) => n.id),
    rootSet,
    steps,
    processes,
    cannotRestore,
    net: planNet(img, opts.external),
  };
}
