// Why: carries out a plan's processes (plan.processes) itself. Helpers get argument arrays, never
// generated shell code; every agent has channels of its own (socket pairs for the executor's own
// children, FIFOs in a private directory for the children of agents), so nothing is parsed out of a
// stream a user's command also writes. The executor holds an fd on every namespace it made, keeps
// every pid, reaps what is re-parented to it (it is a child subreaper), and on any failure, signal
// or death releases everything: every agent and placeholder ends when its channel closes.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, closeSync, constants as fsc, openSync, readSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osc, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { becomeSubreaper, close as closeRaw, mkfifo, uname, open as openFd, pidfdOpen, raiseNofileLimit, reapIfExited, sendSignal, waitAllReadable, waitAnyReadable } from '../kernel/ffi.js';
import { stateOf, type Image, type Namespace, type StateOf } from '../model/image.js';
import { capBit, capNumber, parseStatus } from '../model/caps.js';
import { kernelBytes } from '../model/kernel-text.js';
import { orderedSysctls } from '../model/ipc.js';
import { JOIN_ORDER, NS_TYPES, UTIL_LINUX_OPTION, type NsLink, type NsType } from '../model/species.js';
import { ReplayBuilder, madeByChain } from '../plan/replay.js';
import type { Chain, Plan, ProcessStep, Step } from '../plan/schema.js';
import { AGENT, ATTACH_ARGV, WRITE_FILES_ARGV } from './agent.js';
import type { StateJob, StateResult } from './state-writer.js';
import { freshIpcDefaultsAsync, sysctlsToWrite } from './ipc-defaults.js';
import { ipCommand } from './net.js';
import { bindHere, bindPathOf, bindThere, prepareBindDir, unbind, type Bound } from './binds.js';
import { isErrno } from '../kernel/errors.js';
import { childrenOf, parseNsPid, parseStat, readText } from '../discover/procfs.js';
import { makeLockedDir, sweepAbandoned } from '../kernel/locked-dir.js';
import { nodeHelperEnv } from '../model/node-env.js';

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export type RestoreEvent =
  | { event: 'step'; n: number; of: number; summary: string }
  | { event: 'ready'; root: number; rootSet: number; sets: Record<string, SetInfo>; held: Record<string, string> }
  | { event: 'failed'; n: number; summary: string; reason: string }
  | { event: 'released'; reason: string };

export interface SetInfo {
  /** The placeholder: a process in exactly this set. */
  pid: number;
  /** Dumped pids (and tids) that used the set. */
  pids: number[];
  /** /proc/PID/ns/TYPE of the placeholder, by type. */
  ns: Record<NsType, string>;
  /** With --bind DIR: DIR/<set>/<type>; with --netns-prefix: also /run/netns/NAME-<set>. */
  bound?: Record<string, string>;
  /** What the kernel refused to bind, with its reason (a mount namespace, see docs/restore.md). */
  unbound?: Record<string, string>;
}

const NSENTER_FLAG = UTIL_LINUX_OPTION;
// nsenter joins in JOIN_ORDER anyway (user last for a privileged caller); kept for readable argv.
const SIGKILL = 9;
/**
 * Every process a restore makes carries this in its environment (value: the executor's pid), so
 * that a person, or a test, can list them all, wherever they were re-parented. The user's command
 * does not get it.
 */
export const RESTORE_TAG = 'NSDUMP_RESTORE';
const taggedEnv = () => ({ ...process.env, [RESTORE_TAG]: String(process.pid) });
/**
 * Whether what restore execs as uid 0 (nsenter) may call setgroups here (the kernel's
 * may_setgroups): this user namespace allows it and has a gid_map, and the caller holds CAP_SETGID.
 * Exec gives uid 0 its bounding and inheritable sets: a root whose bounding set lacks CAP_SETGID
 * (a service or container that dropped it) is refused, whatever /proc/self/setgroups says.
 */
function setgroupsWorksHere(): boolean {
  try {
    const s = parseStatus(readText('/proc/self/status'));
    if (((s.bounding | s.inheritable) & capBit(capNumber('CAP_SETGID')!)) === 0n) return false;
    return readText('/proc/self/setgroups').trim() === 'allow' && readText('/proc/self/gid_map').trim() !== '';
  } catch {
    return false;
  }
}
const untaggedEnv = () => {
  const e = { ...process.env };
  delete e[RESTORE_TAG];
  return e;
};

/** Lines from an agent's reply channel, and its stderr kept for the reason of a failure. */
class Channel {
  private buf = '';
  private readonly waiters: { want: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  private ended = false;
  private err = '';
  private tok = 0;

  constructor(
    private readonly write: (s: string) => void,
    readonly closeInput: () => void,
    private readonly errDrain: () => string,
  ) {}

  attach(out: NodeJS.ReadableStream, err: NodeJS.ReadableStream | null): void {
    err?.on('data', (d: Buffer) => (this.err += d.toString()));
    err?.on('error', () => undefined);
    out.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.findIndex((x) => x.want(line));
        if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(line);
      }
    });
    out.on('error', () => undefined);
    out.on('end', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error(this.reason('it exited')));
    });
  }

  /** The last line the helpers wrote on stderr, or `fallback`. */
  reason(fallback: string): string {
    this.err += this.errDrain();
    const lines = this.err.split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.at(-1) ?? fallback;
  }

  next(want: (l: string) => boolean): Promise<string> {
    if (this.ended) return Promise.reject(new Error(this.reason('it exited')));
    return new Promise((resolve, reject) => this.waiters.push({ want, resolve, reject }));
  }

  hello(): Promise<number> {
    return this.next((l) => l.startsWith('hello ')).then((l) => Number(l.slice(6)));
  }

  /**
   * Commands are written as they come, without waiting for the replies of earlier ones: the agent
   * reads them in order and each reply names its command's token. The launcher so forks one child
   * after another without a round trip through our event loop between them.
   */
  command(verb: 'run' | 'spawn' | 'exec' | 'wait', args: string[]): Promise<string> {
    for (const a of args) if (a.includes('\n')) return Promise.reject(new Error(`an argument holds a newline: ${JSON.stringify(a)}`));
    // An agent that ended reads nothing more: a write to its FIFO would only fill it, and block.
    if (this.ended) return Promise.reject(new Error(this.reason('it exited')));
    const tok = String(++this.tok);
    const reply = verb === 'exec' ? Promise.resolve('') : this.next((l) => l.startsWith(`${verb === 'spawn' ? 'spawned' : 'done'} ${tok} `));
    try {
      this.write(`${verb}\n${tok}\n${args.length}\n${args.map((a) => `${a}\n`).join('')}`);
    } catch (err) {
      reply.catch(() => undefined);
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return reply.then((l) => l.split(' ')[2] ?? '');
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface Live {
  step: ProcessStep;
  /** For a waiter: the channel its forked child will speak on, and the waiter's pid once that child said hello. */
  forkChannel: Deferred<Channel>;
  waiterPid: Deferred<number>;
  /** The process standing for the step (a waiter for a passive step). */
  pid?: number;
  /** Its channel (agents only). */
  ch?: Channel;
  /** The pid its parent agent knows it by ($!), for `wait`. */
  local?: number;
  /** The launcher only: the executor's own child. */
  child?: ChildProcess;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface ExecuteOptions {
  onEvent?: (e: RestoreEvent) => void;
  /** Called as each stage of make() ends (launcher, processes, stubs, state, binds): for timings. */
  onStage?: (stage: string) => void;
  /** Do not recreate the bind mounts that held namespaces in the dump. */
  noBind?: boolean;
  /** Bind every namespace of every set as DIR/<set>/<type>. */
  bindDir?: string;
  /** Also bind each restored network namespace as /run/netns/NAME-<set>, for ip netns exec. */
  netnsPrefix?: string;
}

export class Executor {
  private readonly ids: Map<number, Namespace>;
  private readonly live = new Map<number, Live>();
  /** Image id → fd the executor holds on it. */
  private readonly held = new Map<number, number>();
  private readonly pids = new Set<number>();
  /** Our own spawned children: libuv reaps them; everything else re-parented to us we reap. */
  private readonly spawned = new Set<number>();
  private readonly fds = new Set<number>();
  private readonly dir: string;
  /** An fd on `dir` holding flock(LOCK_EX) while this restore lives: how sweepers tell it is. */
  private readonly lockFd: number;
  private failure: { n: number; reason: string } | undefined;
  private releasing: Promise<void> | undefined;
  private readonly replay: ReplayBuilder;
  private readonly onChild = () => this.reapAdopted();
  private fifoCount = 0;
  private readonly binds: Bound[] = [];
  private readonly bound = new Map<number, Record<string, string>>();
  private readonly unbound = new Map<number, Record<string, string>>();

  constructor(
    private readonly plan: Plan,
    private readonly img: Image,
    private readonly opts: ExecuteOptions = {},
    private readonly start: Startup = new Startup(),
  ) {
    this.ids = new Map(img.namespaces.map((n) => [n.id, n]));
    this.replay = new ReplayBuilder(img, new Map());
    ({ dir: this.dir, lockFd: this.lockFd } = start);
    this.trackSpawned(start.launcher.child);
    // Where each namespace a chain makes can be reached, decided by the plan, not by which step finishes first.
    for (const s of plan.processes) if (s.chain) for (const m of madeByChain(s.chain, s.passive)) this.makerOf.set(m.id, { node: s.n, link: m.link });
    for (const s of plan.steps) if (s.op === 'spawn') this.spawnOf.set(s.set, s);
  }

  private readonly makerOf = new Map<number, { node: number; link: NsLink }>();
  /** The plan's spawn step of each set: its namespaces and dumped pids. */
  private readonly spawnOf = new Map<number, Extract<Step, { op: 'spawn' }>>();

  /** Whether the namespace of type `t` of `set` is one the restore made (not the executor's own). */
  private made(set: number, t: NsType): boolean {
    const st = this.spawnOf.get(set);
    return st !== undefined && this.ids.get(st.namespaces[t])?.inScope === false;
  }

  private emit(e: RestoreEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Make every process of the plan; resolves once all of them are ready and the state is set. */
  async make(): Promise<Extract<RestoreEvent, { event: 'ready' }>> {
    // The state writer is a Node process: started now, it loads while the namespaces are made —
    // but only where there is state to write, for its start-up takes a core from the making.
    // Every uts namespace the restore makes starts with the executor's own names (hostnames are
    // written only after all are made, and each is copied from its creator's), so one whose dumped
    // names are the executor's needs no write.
    const own = uname();
    this.ownUts = { hostname: own.nodename, domainname: own.domainname };
    const made = this.img.namespaces.filter((n) => !n.inScope);
    const utsToWrite = made.some((n) => n.type === 'uts' && n.state && this.utsDiffers(n.state));
    const ipcs = made.flatMap((n) => (n.type === 'ipc' && n.state ? [orderedSysctls(n.state.sysctls)] : [])).filter((w) => w.length);
    if (utsToWrite || this.plan.net.sysctls.length) this.stateWriter = this.startStateWriter();
    this.ipcDefaults = ipcs.length ? freshIpcDefaultsAsync() : Promise.resolve(new Map());
    if (ipcs.length && !this.stateWriter) {
      void this.ipcDefaults.then((defaults) => {
        if (!this.stateWriter && !this.releasing && ipcs.some((w) => sysctlsToWrite(w, defaults).length)) this.stateWriter = this.startStateWriter();
      });
    }
    process.on('SIGCHLD', this.onChild);
    for (const s of this.plan.processes) {
      const d = deferred<void>();
      this.live.set(s.n, { step: s, done: d.promise, resolve: d.resolve, reject: d.reject, forkChannel: deferred<Channel>(), waiterPid: deferred<number>() });
    }
    const of = this.plan.processes.length;
    try {
      // Inside the try: a launcher that dies before its hello is a failure released like any other.
      try {
        await this.startLauncher();
      } catch (err) {
        throw this.fail(0, `the launcher: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.opts.onStage?.('launcher');
      await Promise.all(
        this.plan.processes.map(async (s) => {
          const l = this.live.get(s.n)!;
          try {
            await this.realize(l);
            this.emit({ event: 'step', n: s.n, of, summary: s.summary });
            l.resolve();
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            this.failure ??= { n: s.n, reason };
            l.reject(err as Error);
            throw err;
          }
        }),
      );
      this.opts.onStage?.('processes');
      await this.endStubs();
      await this.endLauncher();
      this.opts.onStage?.('stubs');
      await this.configureNet();
      this.opts.onStage?.('net');
      await this.writeState();
      this.opts.onStage?.('state');
      this.makeBinds();
      this.opts.onStage?.('binds');
    } catch (err) {
      const f = this.failure ?? { n: 0, reason: err instanceof Error ? err.message : String(err) };
      const s = this.plan.processes[f.n - 1];
      this.emit({ event: 'failed', n: f.n, summary: s?.summary ?? '', reason: f.reason });
      await this.release(`step failed`);
      throw new RestoreError(s ? `process ${f.n} (${s.summary}): ${f.reason}` : f.reason);
    }
    const ready = { event: 'ready' as const, root: process.pid, rootSet: this.plan.rootSet, sets: this.sets(), held: this.heldPaths() };
    this.emit(ready);
    return ready;
  }

  /**
   * The executor's own children are forked by a launcher: an agent in the executor's own
   * namespaces. A fork of a small sh costs a fraction of a fork of this (large) Node process, and
   * it happens on the other core; the launcher ends once everything is made, and what it forked
   * is re-parented to the executor.
   */
  private launcher: Live | undefined;

  private async startLauncher(): Promise<void> {
    const { ch, child, hello } = this.start.launcher;
    const d = deferred<void>();
    this.launcher = {
      step: { n: 0, set: null, pids: [], parent: 0, how: 'spawn', chain: null, passive: false, forkChild: null, extraWaiter: false, mapsWriter: null, stub: false, uid: 0, gid: 0, summary: 'the launcher' },
      forkChannel: deferred<Channel>(),
      waiterPid: deferred<number>(),
      ch,
      child,
      done: d.promise,
      resolve: d.resolve,
      reject: d.reject,
    };
    this.launcher.pid = await hello;
    d.resolve();
  }

  private async endLauncher(): Promise<void> {
    const l = this.launcher!;
    l.ch!.closeInput();
    if (l.child!.exitCode === null && l.child!.signalCode === null) await new Promise((r) => l.child!.once('exit', r));
  }

  /** The agent that forks the children of process `n` (0: the launcher). */
  private agentOf(n: number): Live {
    return n === 0 ? this.launcher! : this.live.get(n)!;
  }

  /** /proc/PID/ns/LINK of a live process in namespace `id` (made by an earlier step). */
  private async pathOf(id: number): Promise<string> {
    const at = this.makerOf.get(id);
    if (!at) throw new Error(`no process of the restore is in ${this.ids.get(id)?.type}#${id}`);
    const l = this.live.get(at.node)!;
    await l.done;
    return `/proc/${l.pid}/ns/${at.link}`;
  }

  /**
   * The argv of a chain, joins reached through processes of the restore that are in them; without
   * the agent that ends it, which the agent that runs the chain adds.
   */
  private async argv(c: Chain): Promise<string[]> {
    const out: string[] = [];
    if (c.setuid) out.push('setpriv', `--reuid=${c.setuid.uid}`, `--regid=${c.setuid.gid}`, '--keep-groups', '--inh-caps=+all', '--ambient-caps=+all', '--');
    const joins = JOIN_ORDER.filter((t) => c.join[t] !== undefined);
    if (joins.length) {
      out.push('nsenter', '--preserve-credentials');
      for (const t of joins) out.push(`--${NSENTER_FLAG[t]}=${await this.pathOf(c.join[t]!)}`);
      out.push('--');
    }
    if (c.joinPidForChildren !== null) out.push('nsenter', '--no-fork', '--preserve-credentials', `--pid=${await this.pathOf(c.joinPidForChildren)}`, '--');
    const first = NS_TYPES.filter((t) => c.createFirst[t] !== undefined);
    if (first.length) out.push('unshare', ...first.map((t) => `--${NSENTER_FLAG[t]}`), ...(c.forkFirst ? ['--fork'] : []), '--');
    const made = NS_TYPES.filter((t) => c.create[t] !== undefined);
    if (made.length || c.fork) {
      out.push('unshare');
      if (c.create.user !== undefined) out.push('--user', '--keep-caps');
      for (const t of made) if (t !== 'user') out.push(`--${NSENTER_FLAG[t]}`);
      // util-linux makes a new mount namespace's mounts private by default: that is what we want.
      if (c.time) out.push('--monotonic', String(c.time.monotonic), '--boottime', String(c.time.boottime));
      if (c.fork) out.push('--fork');
      out.push('--');
    }
    return out;
  }

  private fifo(owner: { uid: number | null; gid: number | null }): string {
    const p = join(this.dir, `f${++this.fifoCount}`);
    mkfifo(p, 0o600);
    chownSync(p, owner.uid ?? 0, owner.gid ?? 0);
    return p;
  }

  /** A FIFO end of ours, closed at release if nothing took it over. */
  private openTracked(path: string, flags: number): number {
    const fd = openSync(path, flags);
    this.fds.add(fd);
    return fd;
  }

  private closeTracked(fd: number): void {
    if (!this.fds.delete(fd)) return;
    try {
      closeSync(fd);
    } catch {
      // already closed by a stream
    }
  }

  /** Spawn a chain from agent `parent`, with FIFOs it opens as the child's fds 3, 4 and 2. */
  private async spawnFrom(parent: Live, argv: string[]): Promise<{ ch: Channel; local: number }> {
    const owner = { uid: parent.step.uid, gid: parent.step.gid };
    const [inP, outP, errP] = [this.fifo(owner), this.fifo(owner), this.fifo(owner)];
    const inFd = this.openTracked(inP, fsc.O_RDWR);
    const outFd = this.openTracked(outP, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const errFd = this.openTracked(errP, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const drain = () => {
      const b = Buffer.alloc(4096);
      let s = '';
      try {
        for (let n; (n = readSync(errFd, b)) > 0; ) s += b.toString('utf8', 0, n);
      } catch {
        // EAGAIN: nothing more
      }
      return s;
    };
    const ch = new Channel(
      (s) => {
        // Released meanwhile: the fd number may already be another file's.
        if (!this.fds.has(inFd)) throw new Error('its channel was closed');
        writeSync(inFd, s);
      },
      () => this.closeTracked(inFd),
      drain,
    );
    const local = Number(await parent.ch!.command('spawn', [basename(inP), basename(outP), basename(errP), ...argv]));
    // Only now does the child hold OUT open: reading earlier could see an end-of-file.
    this.fds.delete(outFd);
    ch.attach(new Socket({ fd: outFd, readable: true, writable: false }), null);
    return { ch, local };
  }

  private ppid(pid: number): number {
    return parseStat(readText(`/proc/${pid}/stat`)).ppid;
  }

  private async realize(l: Live): Promise<void> {
    const s = l.step;
    if (s.how === 'fork-child') {
      // Made by the waiter's own fork: its hello arrives on the channel the waiter's chain was given.
      const w = this.live.get(s.parent)!;
      try {
        l.ch = await w.forkChannel.promise;
        l.pid = await l.ch.hello();
        this.pids.add(l.pid);
        w.waiterPid.resolve(this.ppid(l.pid));
      } catch (err) {
        w.waiterPid.reject(err as Error);
        throw err;
      }
      // The waiter's maps come first: what this process does next may need them.
      await w.done;
      if (s.chain) await this.runInPlace(l, s.chain);
      await this.afterChain(l, s.chain);
      return;
    }
    const parent = this.agentOf(s.parent);
    await parent.done;
    const argv = await this.argv(s.chain!);
    const r = await this.spawnFrom(parent, argv);
    const ch = r.ch;
    l.local = r.local;
    if (s.passive) {
      // The waiter never speaks: its forked child, the next step, takes the channel.
      l.forkChannel.resolve(ch);
      l.pid = await l.waiterPid.promise;
      this.pids.add(l.pid);
    } else {
      l.ch = ch;
      l.pid = await ch.hello();
      this.pids.add(l.pid);
    }
    await this.afterChain(l, s.chain);
  }

  /** An agent changes itself: exec the chain; the agent after it (or its forked child) says hello again. */
  private async runInPlace(l: Live, c: Chain): Promise<void> {
    const argv = await this.argv(c);
    await l.ch!.command('exec', argv);
    if (l.step.passive) {
      // It is now the waiter (same pid); its forked child says hello on this channel.
      l.forkChannel.resolve(l.ch!);
      await l.waiterPid.promise;
      return;
    }
    const pid = await l.ch!.hello();
    if (pid !== l.pid) throw new Error(`the process changed pid (${l.pid} → ${pid})`);
  }

  /** What follows a chain: maps written from the parent side, fds taken on what it made, an extra waiter ended. */
  private async afterChain(l: Live, c: Chain | null): Promise<void> {
    const s = l.step;
    if (!c) return;
    if (c.create.user !== undefined) await this.writeMaps(l, c.create.user);
    for (const m of madeByChain(c, s.passive)) this.held.set(m.id, openFd(`/proc/${l.pid}/ns/${m.link}`));
    if (s.extraWaiter) {
      // The nsenter or unshare that forked this process only waits for it: end it, reap it.
      const waiter = this.ppid(l.pid!);
      sendSignal(waiter, SIGKILL);
      await this.agentOf(s.parent).ch!.command('wait', [String(l.local)]);
    }
  }

  private async writeMaps(l: Live, user: number): Promise<void> {
    const u = this.ids.get(user)!;
    const st = stateOf(u, 'user');
    const lines = (m: { inside: number; outside: number; count: number }[]) => m.map((x) => `${x.inside} ${x.outside} ${x.count}`);
    const files: [string, string[]][] = [];
    const pid = l.pid!;
    // setgroups "allow" is the default and cannot be written back once a map exists: only "deny" is written.
    if (st.setgroups === 'deny') files.push([`/proc/${pid}/setgroups`, ['deny']]);
    if (st.uidMap.length) files.push([`/proc/${pid}/uid_map`, lines(st.uidMap)]);
    if (st.gidMap.length) files.push([`/proc/${pid}/gid_map`, lines(st.gidMap)]);
    if (st.projidMap.length) files.push([`/proc/${pid}/projid_map`, lines(st.projidMap)]);
    const writer = l.step.mapsWriter!;
    const parentUser = u.parent!;
    try {
      if (writer === 0 && this.ids.get(parentUser)?.inScope !== false) {
        for (const [f, v] of files) writeFileSync(f, v.map((x) => `${x}\n`).join(''));
        return;
      }
      const args = files.flatMap(([f, v]) => [f, String(v.length), ...v]);
      if (writer === 0) {
        // Root of the parent user namespace is the executor's own uid: nsenter gives it capabilities there.
        const r = await runHere(['nsenter', '--preserve-credentials', `--user=${await this.pathOf(parentUser)}`, '--', ...WRITE_FILES_ARGV, ...args]);
        if (r.code !== 0) throw new Error(r.err || `exit ${r.code}`);
        return;
      }
      const w = this.live.get(writer)!;
      // A process writing its own maps (a self-map) is the one being made: it is not done yet.
      if (writer !== l.step.n) await w.done;
      const code = await w.ch!.command('run', [...WRITE_FILES_ARGV, ...args]);
      if (code !== '0') throw new Error(w.ch!.reason(`exit ${code}`));
    } catch (err) {
      throw new Error(`cannot write the maps of user#${user}: ${(err as Error).message}`);
    }
  }

  /** Stubs only made namespaces no process is in: now that they are held, end them. */
  private async endStubs(): Promise<void> {
    for (const s of [...this.plan.processes].reverse()) {
      if (!s.stub) continue;
      const l = this.live.get(s.n)!;
      const gone = l.ch!.next(() => false).catch(() => undefined);
      l.ch!.closeInput();
      await gone;
      await this.agentOf(s.parent).ch!.command('wait', [String(l.local)]);
      this.pids.delete(l.pid!);
    }
  }

  private stateWriter: { child: ChildProcess; result: Promise<{ out: string; err: string }> } | undefined;
  private ipcDefaults: Promise<Map<string, string>> | undefined;

  private startStateWriter(): { child: ChildProcess; result: Promise<{ out: string; err: string }> } {
    const helper = fileURLToPath(new URL('./state-writer.js', import.meta.url));
    // A Node process of ours: started without the certificate bundle it would parse and never use.
    const child = spawn(process.execPath, [helper], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'], env: nodeHelperEnv(taggedEnv()) });
    this.trackSpawned(child);
    let out = '';
    let err = '';
    child.stdio[3]!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin!.on('error', () => undefined);
    const result = new Promise<{ out: string; err: string }>((r) => child.once('close', () => r({ out, err })));
    return { child, result };
  }

  /**
   * Links, addresses and routes of the restored network namespaces (plan.net), one ip command at a
   * time in the plan's order: a link exists before its ports, addresses and routes use it.
   */
  private async configureNet(): Promise<void> {
    const path = (ns: number) => {
      const fd = this.held.get(ns);
      if (fd === undefined) throw this.fail(0, `net#${ns}: not made by this restore`);
      return `/proc/${process.pid}/fd/${fd}`;
    };
    for (const op of this.plan.net.ops) {
      const c = ipCommand(op, path);
      const r = await runHere(c.ns === null ? c.argv : ['nsenter', `--net=${path(c.ns)}`, '--', ...c.argv]);
      if (r.code !== 0) throw this.fail(0, `${c.what}: ${c.argv.join(' ')}: ${r.err || `exit ${r.code}`}`);
    }
  }

  /** Hostnames, ipc and net sysctls, set from inside by one helper process. */
  private async writeState(): Promise<void> {
    const job: StateJob = { pid: process.pid, uts: [], ipc: [], net: [] };
    for (const { ns, sysctls } of this.plan.net.sysctls) {
      const fd = this.held.get(ns);
      if (fd !== undefined) job.net.push({ ns: `net#${ns}`, fd, sysctls });
    }
    // Had the host's names changed while the namespaces were made, some would have copied the
    // new ones: then every uts namespace is written.
    const now = uname();
    const changed = this.namesDiffer(now.nodename, now.domainname);
    for (const [id, fd] of this.held) {
      const n = this.ids.get(id)!;
      if (n.type === 'uts' && n.state) {
        const u = n.state;
        if (changed || this.utsDiffers(u)) job.uts.push({ ns: `uts#${id}`, fd, hostname: u.hostname, domainname: u.domainname });
      }
    }
    job.ipc = this.ipcJob(await this.ipcDefaults!);
    if (!job.uts.length && !job.ipc.length && !job.net.length && !this.stateWriter) return;
    const w = (this.stateWriter ??= this.startStateWriter());
    w.child.stdin!.end(JSON.stringify(job));
    const { out, err } = await w.result;
    let res: StateResult;
    try {
      res = JSON.parse(out) as StateResult;
    } catch {
      throw this.fail(0, `the state writer failed: ${err.trim().split('\n').at(-1) ?? 'no answer'}`);
    }
    if (!res.ok) throw this.fail(0, `cannot set the state of ${res.ns}: ${res.reason}`);
  }

  /** The executor's own hostname and domainname: what every uts namespace it makes starts with. */
  private ownUts: { hostname: Buffer; domainname: Buffer } | undefined;

  private utsDiffers(u: StateOf<'uts'>): boolean {
    // As bytes: a name need not be UTF-8.
    return this.namesDiffer(kernelBytes(u.hostname), kernelBytes(u.domainname));
  }

  private namesDiffer(hostname: Uint8Array, domainname: Uint8Array): boolean {
    return !this.ownUts!.hostname.equals(hostname) || !this.ownUts!.domainname.equals(domainname);
  }

  /** The ipc sysctls to write: those that differ from a new ipc namespace's defaults. */
  private ipcJob(defaults: Map<string, string>): StateJob['ipc'] {
    const out: StateJob['ipc'] = [];
    for (const [id, fd] of this.held) {
      const n = this.ids.get(id)!;
      if (n.type !== 'ipc' || !n.state) continue;
      // The kernel lets only the ipc namespace's root write its sysctls (global root where the
      // owner maps no uid 0).
      const owner = n.owner!;
      const uid = this.replay.toExec(owner, 0, 'uid') ?? 0;
      const gid = this.replay.toExec(owner, 0, 'gid') ?? 0;
      const sysctls = sysctlsToWrite(orderedSysctls(n.state.sysctls), defaults);
      if (sysctls.length) out.push({ ns: `ipc#${id}`, fd, uid, gid, sysctls });
    }
    return out;
  }

  private fail(n: number, reason: string): Error {
    this.failure ??= { n, reason };
    return new Error(reason);
  }

  /** Bind-mount holders of the dump at their paths, then --bind DIR and --netns-prefix. */
  private makeBinds(): void {
    const procs = new Map(this.img.processes.map((p) => [p.pid, p]));
    const fdPath = (id: number) => `/proc/${process.pid}/fd/${this.held.get(id)}`;
    try {
      if (!this.opts.noBind) {
        for (const n of this.img.namespaces) {
          if (n.inScope || !this.held.has(n.id)) continue;
          for (const h of n.holders) {
            if (h.kind !== 'bind' || !h.path) continue;
            const mnt = procs.get(h.pid)?.namespaces.mnt;
            const there = mnt === undefined || mnt === null || this.ids.get(mnt)?.inScope ? null : mnt;
            // In our own mount namespace the source is our fd; inside a restored one, reached through our /proc.
            this.binds.push(there === null ? bindHere(`/proc/self/fd/${this.held.get(n.id)}`, h.path) : bindThere(fdPath(there), fdPath(n.id), h.path));
          }
        }
      }
      if (this.opts.bindDir || this.opts.netnsPrefix) {
        if (this.opts.bindDir) this.binds.push(prepareBindDir(this.opts.bindDir));
        for (const [set, info] of Object.entries(this.sets())) {
          const out: Record<string, string> = {};
          for (const t of NS_TYPES) {
            // Only what the restore made: the executor's own are the host's (and its own mount
            // namespace cannot be bound inside itself: EINVAL).
            if (!this.made(Number(set), t)) continue;
            if (this.opts.bindDir) {
              const path = bindPathOf(this.opts.bindDir, Number(set), t);
              try {
                this.binds.push(bindHere(info.ns[t], path));
                out[t] = path;
              } catch (err) {
                // The kernel's loop check lets a mount namespace be bound only where its id is
                // above the binder's own mount namespace's, and 6.18 does not hand ids out in
                // creation order: a restored mount namespace may be refused. Said, not fatal.
                if (t !== 'mnt' || !isErrno(err, 'EINVAL')) throw err;
                this.unbound.set(Number(set), { ...this.unbound.get(Number(set)), mnt: 'the kernel refused (EINVAL): its id is below that of the mount namespace restore runs in' });
              }
            }
          }
          if (this.opts.netnsPrefix && this.made(Number(set), 'net')) {
            const path = `/run/netns/${this.opts.netnsPrefix}-${set}`;
            this.binds.push(bindHere(info.ns.net, path));
            out.netns = path;
          }
          this.bound.set(Number(set), out);
        }
      }
    } catch (err) {
      throw this.fail(0, `bind mounts: ${(err as Error).message}`);
    }
  }

  private sets(): Record<string, SetInfo> {
    const out: Record<string, SetInfo> = {};
    const processOf = new Map(this.plan.processes.filter((x) => x.set !== null).map((x) => [x.set!, x.n]));
    for (const st of this.spawnOf.values()) {
      const n = processOf.get(st.set);
      // The set of the executor's own namespaces has no process of its own: the executor stands for it.
      const pid = n !== undefined ? this.live.get(n)!.pid! : process.pid;
      out[String(st.set)] = {
        pid,
        pids: st.pids,
        ns: Object.fromEntries(NS_TYPES.map((t) => [t, `/proc/${pid}/ns/${t}`])) as Record<NsType, string>,
        ...(this.bound.has(st.set) ? { bound: this.bound.get(st.set)! } : {}),
        ...(this.unbound.has(st.set) ? { unbound: this.unbound.get(st.set)! } : {}),
      };
    }
    return out;
  }

  private heldPaths(): Record<string, string> {
    const inSets = new Set([...this.spawnOf.values()].flatMap((s) => Object.values(s.namespaces)));
    const out: Record<string, string> = {};
    for (const [id, fd] of this.held) if (!inSets.has(id)) out[`${this.ids.get(id)!.type}#${id}`] = `/proc/${process.pid}/fd/${fd}`;
    return out;
  }

  /**
   * The uid and gid a command takes in set `set`: where the set's user namespace is one the restore
   * made, those of the dumped process `as` (the set's first by default) as that namespace maps them.
   * Joining a user namespace keeps the caller's ids, which such a namespace may not map at all (a
   * rootless container maps only its user: restore's uid 0 then reads as the overflow uid there,
   * and exec drops every capability), where the dumped process was, say, that container's root.
   * null, and the caller's ids are kept: the set is in the executor's own user namespace, the image
   * records no credentials for the process, its ids do not map there, or nsenter could not set them.
   */
  commandIds(set: number, as?: number): { uid: number; gid: number } | null {
    const st = this.spawnOf.get(set);
    if (!st || !this.made(set, 'user')) return null;
    const pid = as ?? st.pids[0];
    // A pid of the set may be a thread's (one that left its leader's namespaces): its leader's credentials.
    const leader = this.img.threads.find((x) => x.tid === pid)?.pid ?? pid;
    const creds = this.img.processes.find((p) => p.pid === leader)?.credentials;
    if (!creds) return null;
    const user = st.namespaces.user;
    // nsenter drops supplementary groups before it sets the ids, and gives up when setgroups fails
    // both where it runs and in the namespace it joined: both refuse it where restore itself runs
    // in a user namespace that denies it (a rootless container), or without CAP_SETGID, and the
    // dumped one denied it too.
    if (!setgroupsWorksHere() && stateOf(this.ids.get(user)!, 'user').setgroups === 'deny') return null;
    const uid = this.replay.fromExec(user, creds.uid.effective, 'uid');
    const gid = this.replay.fromExec(user, creds.gid.effective, 'gid');
    return uid === null || gid === null ? null : { uid, gid };
  }

  /**
   * Run `command` in set `set` (nsenter from the executor), with the user's stdio, as commandIds
   * says (`as`: the dumped process it stands in for); resolves with its exit status.
   */
  async attach(set: number, command: string[], pidfd: boolean, onStart?: (pid: number) => void, as?: number): Promise<number> {
    const info = this.sets()[String(set)];
    if (!info) throw new RestoreError(`no set ${set}`);
    const types = NS_TYPES.filter((t) => this.made(set, t));
    const ids = this.commandIds(set, as);
    // nsenter sets them once it has joined (setgroups, setgid, setuid); exec then leaves CMD every
    // capability there as that namespace's root, none as another uid.
    const args = ids ? [`--setuid=${ids.uid}`, `--setgid=${ids.gid}`] : ['--preserve-credentials'];
    if (pidfd) args.push('--target', String(info.pid), ...types.map((t) => `--${NSENTER_FLAG[t]}`));
    else args.push(...JOIN_ORDER.filter((t) => types.includes(t)).map((t) => `--${NSENTER_FLAG[t]}=${info.ns[t]}`));
    const child = spawn('nsenter', [...args, '--', ...ATTACH_ARGV, ...command], { stdio: ['inherit', 'inherit', 'pipe', 'pipe', 2], env: untaggedEnv() });
    this.trackSpawned(child, false);
    if (child.pid) onStart?.(child.pid);
    let err = '';
    let joined = false;
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdio[3]!.on('data', (d: Buffer) => {
      if (d.toString().includes('joined')) joined = true;
    });
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('close', (c, s) => r([c, s])));
    if (!joined) throw new RestoreError(`cannot join set ${set}: ${err.trim().split('\n').at(-1) || `nsenter exit ${code}`}`);
    return code ?? 128 + (sig ? osc.signals[sig] : 0);
  }

  /** Resolves when any process that stands for a set (or its waiter) exits: a release is due. */
  watch(): Promise<string> {
    const fds: number[] = [];
    const keep = this.plan.processes.filter((s) => !s.stub).map((s) => this.live.get(s.n)!.pid!);
    for (const pid of keep) {
      try {
        fds.push(pidfdOpen(pid));
      } catch {
        return Promise.resolve(`process ${pid} is gone`);
      }
    }
    return waitAnyReadable(fds).then((i) => {
      for (const fd of fds) closeRaw(fd);
      return `process ${keep[i]} of the restore exited`;
    });
  }

  /** End everything: close every channel, SIGKILL every pid, wait until all are gone, reap, clean up. */
  release(reason: string): Promise<void> {
    this.releasing ??= this.doRelease(reason);
    return this.releasing;
  }

  private async doRelease(reason: string): Promise<void> {
    // Bind mounts first: one inside a restored mount namespace needs it still held.
    for (const b of this.binds.reverse()) unbind(b);
    this.binds.length = 0;
    this.launcher?.ch?.closeInput();
    for (const l of this.live.values()) l.ch?.closeInput();
    const pids = [...this.pids];
    for (const p of pids.reverse()) sendSignal(p, SIGKILL);
    const pidfds: number[] = [];
    for (const p of pids) {
      try {
        pidfds.push(pidfdOpen(p));
      } catch {
        // already gone
      }
    }
    // SIGCHLD reaps what is re-parented to us as it ends; the timer too, should one be coalesced.
    const reaper = setInterval(() => this.reapAdopted(true), 250);
    try {
      this.reapAdopted(true);
      await waitAllReadable(pidfds);
    } finally {
      clearInterval(reaper);
    }
    for (const fd of pidfds) closeRaw(fd);
    this.reapAdopted();
    for (const fd of this.held.values()) closeRaw(fd);
    this.held.clear();
    for (const fd of [...this.fds]) this.closeTracked(fd);
    rmSync(this.dir, { recursive: true, force: true });
    closeRaw(this.lockFd);
    process.off('SIGCHLD', this.onChild);
    this.emit({ event: 'released', reason });
  }

  /**
   * A child of ours that libuv spawned (and reaps): tracked until libuv says it exited, no longer.
   * Its pid is free after that, and pids are reused fast here (pid_max 32,768 on these VMs): kept,
   * the launcher's pid — ended once everything is made — was signalled at release and waited for,
   * whatever process had it by then.
   */
  private trackSpawned(child: ChildProcess, kill = true): void {
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    this.spawned.add(pid);
    if (kill) this.pids.add(pid);
    child.once('exit', () => {
      this.spawned.delete(pid);
      this.pids.delete(pid);
    });
  }

  /** Reap every process of ours that was re-parented to us and has exited (libuv reaps only its own). */
  private reapAdopted(nested = false): void {
    for (const p of this.pids) if (!this.spawned.has(p) && reapIfExited(p)) this.pids.delete(p);
    // While releasing, also any other child of ours that exited inside a restored pid namespace —
    // one no step tracks (a helper an agent ran, or a process whose pid left the list while it was
    // still an agent's child): until it is reaped, that namespace's init cannot finish exiting (it
    // waits in zap_pid_ns_processes), and the release, waiting for the init, would wait for good.
    // libuv's own children are never among them: a process stays in the pid namespace it was born
    // in, and libuv's are born in ours. (A scan of every child: on a timer, not at each SIGCHLD.)
    if (nested) for (const p of childrenOf('self')) if (!this.pids.has(p) && exitedInNestedPidns(p)) reapIfExited(p);
  }
}

/**
 * What a restore can start before it knows its plan, so that it starts while the image is read
 * and planned (the launcher's sh starts on the other core): the locked FIFO directory with the
 * agents' program and the launcher agent. An Executor takes it over; a restore that ends before
 * one does (a bad image, a refused plan) calls dispose().
 */
export class Startup {
  readonly dir: string;
  readonly lockFd: number;
  readonly agentArgv: string[];
  readonly launcher: { ch: Channel; child: ChildProcess; hello: Promise<number> };

  constructor() {
    // Before the launcher exists: what it forks is re-parented to us once it ends, and inherits
    // the raised fd limit.
    becomeSubreaper();
    raiseNofileLimit();
    sweepStaleDirs();
    ({ dir: this.dir, lockFd: this.lockFd } = makeFifoDir());
    // The agent's program, read by path: as an argument it would cost the agent that forks a
    // child one read(2) per byte (sh reads a pipe a byte at a time).
    this.agentArgv = ['sh', join(this.dir, 'agent'), 'nsdump-agent'];
    let child: ChildProcess;
    try {
      writeFileSync(this.agentArgv[1]!, `${AGENT}\n`, { mode: 0o644 });
      // With socket pairs as its fds 3 (in), 4 (out) and 2.
      child = spawn(this.agentArgv[0]!, this.agentArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true, env: taggedEnv() });
    } catch (err) {
      rmSync(this.dir, { recursive: true, force: true });
      closeRaw(this.lockFd);
      throw err;
    }
    child.on('error', () => undefined);
    const input = child.stdio[3] as Socket;
    input.on('error', () => undefined);
    const ch = new Channel(
      (s) => input.write(s),
      () => input.destroy(),
      () => '',
    );
    ch.attach(child.stdio[4] as Socket, child.stderr);
    // Asked now, answered while the plan is made; a failure is the executor's to report.
    const hello = ch.hello();
    hello.catch(() => undefined);
    this.launcher = { ch, child, hello };
  }

  /** End what was started, for a restore that will not make anything. */
  dispose(): void {
    this.launcher.ch.closeInput();
    if (this.launcher.child.pid) sendSignal(this.launcher.child.pid, SIGKILL);
    rmSync(this.dir, { recursive: true, force: true });
    closeRaw(this.lockFd);
  }
}

const TMPFS_MAGIC = 0x01021994;
let root: string | undefined;

/**
 * Where restores keep their FIFO directories: $TMPDIR when the user chose one, else /dev/shm when
 * it is a tmpfs, else the system's tmpdir. Three FIFOs are made per process, and mkfifo on a disk
 * filesystem journals an inode: 224 µs each on this VM's ext4 /tmp against 2.5 µs on tmpfs —
 * 190 ms of a 1,000-namespace restore.
 */
export function channelRoot(): string {
  if (root !== undefined) return root;
  // Absolute: agents find their FIFOs beside their own program after `cd /`.
  root = resolve(tmpdir());
  if (process.env.TMPDIR) return root;
  try {
    if (statfsSync('/dev/shm').type === TMPFS_MAGIC) {
      accessSync('/dev/shm', fsc.W_OK | fsc.X_OK);
      root = '/dev/shm';
    }
  } catch {
    // no /dev/shm we may use: the tmpdir it is
  }
  return root;
}

/**
 * This restore's FIFO directory, locked for as long as the restore lives (kernel/locked-dir.ts).
 * 0711: agents running as other uids reach their FIFOs by name, nobody can list them.
 */
function makeFifoDir(): { dir: string; lockFd: number } {
  const { path, lockFd } = makeLockedDir(channelRoot(), `nsdump-restore-${process.pid}-`);
  chmodSync(path, 0o711);
  return { dir: path, lockFd };
}

/**
 * A restore killed outright cannot remove its FIFO directory: later ones remove every directory
 * whose restore is provably gone — its lock can be taken. A pid check alone is not proof: a
 * restore in a pid namespace of its own (a container) sees none of the host's pids, and a live
 * restore's directory went that way (a failed test run). The dead-pid check is kept as a second
 * condition, for directories left by versions that did not lock.
 */
function sweepStaleDirs(): void {
  try {
    sweepAbandoned(channelRoot(), (name) => {
      const m = /^nsdump-restore-(\d+)-\w+$/.exec(name);
      return m !== null && !alive(Number(m[1]));
    });
  } catch {
    // only tidying: a directory someone else swept meanwhile, or not ours to judge
  }
}

/** A zombie whose NSpid line names more than one pid: it lived in a pid namespace below ours. */
function exitedInNestedPidns(pid: number): boolean {
  try {
    return !alive(pid) && parseNsPid(readText(`/proc/${pid}/status`)).length > 1;
  } catch {
    return false;
  }
}

/** True while process `pid` runs (a zombie has ended: only its parent has not reaped it yet). */
function alive(pid: number): boolean {
  try {
    return parseStat(readText(`/proc/${pid}/stat`)).state !== 'Z';
  } catch {
    return false;
  }
}

/** A short-lived helper run from the executor: exit code and last stderr line. */
function runHere(argv: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: taggedEnv() });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => resolve({ code: 127, err: e.message }));
    c.once('close', (code) => resolve({ code, err: err.trim().split('\n').at(-1) ?? '' }));
  });
}
