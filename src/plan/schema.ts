// Why: the plan's zod schema is the single source of its types and of docs/plan.schema.json
// (scripts/gen-plan-schema.mjs). Scripts that run plans rely on these names.
import * as z from 'zod';
import { IdMapLine, IfName, NetRule, Timespec, UtsState } from '../model/image.js';
import { NS_TYPES } from '../model/species.js';
import { CREATED_KINDS } from './net.js';

import { PLAN_VERSION } from './version.js';

export { PLAN_VERSION };

const id = z.number().int().min(1);

// What restore configures inside the network namespaces it made (planNet in net.ts decides it).
const Addr = z.string();

export const NetLinkOp = z.object({
  op: z.literal('link'),
  /** The net namespace (image id) the link is made in. */
  ns: id,
  kind: z.enum(CREATED_KINDS),
  name: IfName,
  mac: z.string(),
  /** 0: the kind's default (a bridge takes its ports' smallest). */
  mtu: z.number().int().min(0),
  /** veth: the other end, made in `ns` (image id) or, null, in the executor's own network namespace (an --external mapping). */
  peer: z.object({ ns: id.nullable(), name: IfName, mac: z.string(), mtu: z.number().int().min(0) }).nullable(),
  /** vlan and macvlan: the link they sit on, in the same namespace. */
  parent: IfName.nullable(),
  vlanId: z.number().int().min(0).max(4095),
  macvlanMode: z.string(),
});
export const NetOp = z.discriminatedUnion('op', [
  NetLinkOp,
  z.object({ op: z.literal('master'), ns: id, name: IfName, master: IfName }),
  z.object({ op: z.literal('mtu'), ns: id, name: IfName, mtu: z.number().int().min(1) }),
  z.object({ op: z.literal('up'), ns: id, name: IfName }),
  z.object({
    op: z.literal('address'),
    ns: id,
    dev: IfName,
    family: z.enum(['inet', 'inet6']),
    address: Addr,
    prefixLen: z.number().int().min(0).max(128),
    peer: Addr,
    broadcast: Addr,
    label: z.string(),
    scope: z.number().int().min(0).max(255),
    noprefixroute: z.boolean(),
  }),
  z.object({
    op: z.literal('route'),
    ns: id,
    family: z.enum(['inet', 'inet6']),
    type: z.number().int().min(0).max(255),
    dst: Addr,
    dstLen: z.number().int().min(0).max(128),
    gateway: Addr,
    dev: z.union([z.literal(''), IfName]),
    protocol: z.number().int().min(0).max(255),
    scope: z.number().int().min(0).max(255),
    priority: z.number().int().min(0),
    prefsrc: Addr,
    /** Plans written before rules were recorded name no table: the main one. */
    table: z.number().int().min(0).default(254),
  }),
  /** A policy rule: added (`rule`), or a fresh namespace's default the dumped one lacked, deleted (`unrule`). */
  NetRule.omit({ complex: true }).extend({ op: z.literal('rule'), ns: id }),
  NetRule.omit({ complex: true }).extend({ op: z.literal('unrule'), ns: id }),
]);
export type NetOp = z.infer<typeof NetOp>;

export const NetPlan = z.object({
  /** In order, across all namespaces: links, bridge ports, bridge mtus, up, addresses, routes, rules, deleted default rules. */
  ops: z.array(NetOp),
  /** net.ipv4/net.ipv6 sysctls written inside each namespace, once the ops are done. */
  sysctls: z.array(z.object({ ns: id, sysctls: z.array(z.tuple([z.string(), z.string()])) })),
  /** Links left to the orchestrator: their other end (or parent) is outside what the restore makes. */
  external: z.array(z.object({ ns: id, name: IfName, kind: z.string(), why: z.string() })),
  /** What else is recorded but not recreated (routes through external links, multipath routes). */
  skipped: z.array(z.object({ ns: id, what: z.string(), why: z.string() })),
});
export type NetPlan = z.infer<typeof NetPlan>;

const NsType = z.enum(NS_TYPES);

/** The namespaces of one set, by type: image ids. */
export const NsSet = z.object(Object.fromEntries(NS_TYPES.map((t) => [t, id])) as Record<(typeof NS_TYPES)[number], typeof id>);
const nullableId = id.nullable();
export const NsSetNullable = z.object(Object.fromEntries(NS_TYPES.map((t) => [t, nullableId])) as Record<(typeof NS_TYPES)[number], typeof nullableId>);

const Common = {
  /** 1-based position in `steps`. */
  n: z.number().int().min(1),
  /** One line for people. */
  summary: z.string(),
};

export const CreateStep = z.object({
  ...Common,
  op: z.literal('create'),
  type: NsType,
  /** The image ids this step makes (always one namespace here). */
  creates: z.array(id).length(1),
  /** Owning user namespace (for a user namespace: its parent). */
  owner: id,
  /** Parent pid namespace, for pid namespaces. */
  parent: id.nullable(),
  /**
   * Namespaces the creating process joins first (null: it stays in the executor's own). Always the
   * owner (for a user namespace: the parent) and, for pid, the parent pid namespace; a pid
   * namespace's init also joins the rest of the set it will serve (`init`).
   */
  enter: NsSetNullable,
  /** The holder process that keeps the namespace open (an fd on it) until release. */
  holder: z.string(),
  /** For pid namespaces: the placeholder that is its init (pid 1) and lives until release. */
  init: z.string().nullable(),
  /** State set from the parent side (user maps) or from inside before anything else enters. */
  user: z.object({ setgroups: z.enum(['allow', 'deny']), uidMap: z.array(IdMapLine), gidMap: z.array(IdMapLine), projidMap: z.array(IdMapLine) }).nullable(),
  uts: UtsState.nullable(),
  ipc: z.object({ sysctls: z.record(z.string(), z.string()) }).nullable(),
  time: z.object({ monotonic: Timespec, boottime: Timespec }).nullable(),
});

export const SpawnStep = z.object({
  ...Common,
  op: z.literal('spawn'),
  /** A placeholder process that lives in one namespace set a process of the tree used. */
  set: z.number().int().min(1),
  placeholder: z.string(),
  namespaces: NsSet,
  /** Dumped pids (and tids) that used this set. */
  pids: z.array(z.number().int()),
  /** Set when this set's placeholder is the init of a pid namespace, made by that create step. */
  initOf: id.nullable(),
});

export const AttachPidfdStep = z.object({
  ...Common,
  op: z.literal('attach-pidfd'),
  set: z.number().int().min(1),
  /** setns(pidfd_open(<placeholder>), flags): all joins validated, then committed, or none. */
  target: z.string(),
  flags: z.array(NsType),
});

export const AttachSequenceStep = z.object({
  ...Common,
  op: z.literal('attach-sequence'),
  set: z.number().int().min(1),
  /** setns on each namespace, reached through its holder, in this order (user last: the executor is privileged). */
  sequence: z.array(z.object({ type: NsType, ns: id, holder: z.string() })),
});

export const Step = z.discriminatedUnion('op', [CreateStep, SpawnStep, AttachPidfdStep, AttachSequenceStep]);
export type Step = z.infer<typeof Step>;

const NsPartial = z.object(Object.fromEntries(NS_TYPES.map((t) => [t, id.optional()])) as Record<(typeof NS_TYPES)[number], z.ZodOptional<typeof id>>);

/**
 * What one process runs to get from where its parent left it to the namespace set it stands for:
 * `setpriv` (a uid the next user namespace maps, capabilities kept), then `nsenter` (joins, user
 * last; pid forks into it), then `nsenter --no-fork --pid` (pid_for_children), then `unshare`
 * (user first with --keep-caps, so that everything else made in the same call is owned by it, and
 * the process keeps capabilities there), then the agent.
 */
export const Chain = z.object({
  setuid: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).nullable(),
  join: NsPartial,
  joinPidForChildren: id.nullable(),
  /**
   * Made by a first unshare, owned by the user namespace the process is in before the chain makes
   * a new one (bubblewrap makes its namespaces, then a user namespace below to drop to --uid);
   * `forkFirst`: that unshare forks (a pid namespace made there is the child's own).
   */
  createFirst: NsPartial,
  forkFirst: z.boolean(),
  /** Made by unshare; with `fork`, pid and time are the waiter's *_for_children and its child's own. */
  create: NsPartial,
  fork: z.boolean(),
  time: z.object({ monotonic: z.number().int(), boottime: z.number().int() }).nullable(),
});
export type Chain = z.infer<typeof Chain>;

/**
 * One process of the restored tree. The dumped process tree is replayed: a process is forked by the
 * one that stands for its parent (so what it cannot join — namespaces owned above its user
 * namespace — it inherits, as the original did), or by the executor where the parent cannot reach
 * what it must join. Every process that stands for a set stays until release.
 */
export const ProcessStep = z.object({
  /** 1-based; 0 is the executor itself. */
  n: z.number().int().min(1),
  /** The plan's set this process stands for (null: a helper that is ended once everything is made). */
  set: z.number().int().min(1).nullable(),
  /** Dumped pids (and tids) of that set. */
  pids: z.array(z.number().int()),
  parent: z.number().int().min(0),
  /** spawn: the parent runs `chain` in the background; fork-child: made by the parent's `unshare --fork`, then runs `chain` in place (exec). */
  how: z.enum(['spawn', 'fork-child']),
  chain: Chain.nullable(),
  /** After its chain this process is an `unshare --fork` waiter; its forked child is process `forkChild`. */
  passive: z.boolean(),
  forkChild: z.number().int().min(1).nullable(),
  /** The chain leaves a waiting nsenter or unshare above this process, ended once it is ready. */
  extraWaiter: z.boolean(),
  /** The chain makes a user namespace: the process (0: the executor) that writes its maps from the parent side. */
  mapsWriter: z.number().int().min(0).nullable(),
  /** A stub that only makes namespaces no process of the tree is in; ended once they are held. */
  stub: z.boolean(),
  /** The uid and gid it runs as, as the executor's user namespace sees them (the owner of the FIFOs it opens). */
  uid: z.number().int().min(0).nullable(),
  gid: z.number().int().min(0).nullable(),
  summary: z.string(),
});
export type ProcessStep = z.infer<typeof ProcessStep>;

export const Plan = z.object({
  version: z.literal(PLAN_VERSION),
  /** What the plan was made for. */
  target: z.object({ kernel: z.string(), pidfd: z.boolean() }),
  /** Image ids joined rather than created: the dumper's own namespaces, the executor's on the target. */
  reuse: z.array(id),
  /** The dumped root's namespace set: what `-- command` joins. */
  rootSet: z.number().int().min(1),
  steps: z.array(Step),
  /** How `nsdump restore` makes it: the processes, in the order they are made. */
  processes: z.array(ProcessStep),
  /** Why `nsdump restore` cannot carry this plan out (then `processes` is empty), or null. */
  cannotRestore: z.string().nullable(),
  /** What restore configures inside the network namespaces it made, once every process is made. */
  net: NetPlan,
});
export type Plan = z.infer<typeof Plan>;
