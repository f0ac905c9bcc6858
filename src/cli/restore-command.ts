// Why: `nsdump restore`: plan for this host and carry the plan out in this process (the executor);
// hold the namespaces, or run a command inside one set, then release everything.
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { readImage } from '../image/read.js';
import { buildPlan } from '../plan/build.js';
import { parseExternal } from '../plan/net.js';
import { PlanError, validateForPlan } from '../plan/validate.js';
import { Executor, RestoreError, Startup, type RestoreEvent } from '../restore/executor.js';
import type { Plan } from '../plan/schema.js';
import { preflight } from '../restore/preflight.js';
import { unbindDir } from '../restore/binds.js';
import { targetOf } from '../plan/target.js';
import { UsageError } from './exit-codes.js';
import { stageTimer } from './timing.js';
import { printable } from '../model/text.js';
import { childrenOf } from '../discover/procfs.js';

export interface RestoreCommandOptions {
  dir: string;
  hold: boolean;
  json: boolean;
  command: string[];
  pidfd?: boolean | undefined;
  set?: number | undefined;
  pid?: number | undefined;
  eventsFd?: number | undefined;
  noBind?: boolean | undefined;
  bind?: string | undefined;
  netnsPrefix?: string | undefined;
  external?: string[] | undefined;
}

/** `nsdump restore --unbind DIR`: remove what a killed `restore --bind DIR` left mounted. */
export function unbindCommand(dir: string): number {
  const n = unbindDir(dir);
  process.stderr.write(`nsdump: unmounted ${n} mount${n === 1 ? '' : 's'} at or below ${dir}\n`);
  return 0;
}

export async function restoreCommand(opts: RestoreCommandOptions): Promise<number> {
  if (opts.netnsPrefix !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(opts.netnsPrefix)) throw new UsageError(`--netns-prefix ${opts.netnsPrefix}: letters, digits, '.', '_' and '-' only`);
  if (opts.hold && opts.command.length) throw new UsageError('--hold and a command exclude each other');
  if (!opts.hold && !opts.command.length) throw new UsageError('say --hold, or give a command after --');
  if (opts.set !== undefined && opts.pid !== undefined) throw new UsageError('--set and --pid exclude each other');
  const external = (opts.external ?? []).map(parseExternal);
  // A signal releases everything; while making, the steps in flight then fail, and we exit 128+n.
  // Taken from the start: what Startup made must not be left by the default action. (Reading and
  // planning run without a break, so a signal then is handled once the making begins.)
  let exec: Executor | undefined;
  let signalled: NodeJS.Signals | undefined;
  let wake: () => void = () => undefined;
  let cmdPid: number | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (opts.command.length && cmdPid !== undefined) {
      // The command decides: it got the terminal's SIGINT too; a SIGTERM is passed on to it.
      if (sig === 'SIGTERM') for (const c of childrenOf(cmdPid)) process.kill(c, 'SIGTERM');
      return;
    }
    signalled ??= sig;
    void exec?.release(`${sig}`);
    wake();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const timer = stageTimer();
  // The launcher starts while the image is read and planned. Not for a caller preflight will
  // refuse (not root): nothing is started for it.
  const start = process.geteuid?.() === 0 ? new Startup() : undefined;
  const tty = process.stderr.isTTY;
  const onEvent = (e: RestoreEvent) => {
    if (opts.eventsFd !== undefined) writeSync(opts.eventsFd, `${JSON.stringify(e)}\n`);
    if (opts.json) process.stderr.write(`${JSON.stringify(e)}\n`);
    else if (tty && e.event === 'step') process.stderr.write(`nsdump: [${e.n}/${e.of}] ${printable(e.summary)}\n`);
  };
  let plan: Plan;
  let set: number;
  let as: number | undefined;
  try {
    const img = readImage(opts.dir);
    timer.mark('read');
    validateForPlan(opts.dir, img);
    plan = buildPlan(img, targetOf({ pidfd: opts.pidfd }), { external });
    if (plan.cannotRestore) throw new PlanError(plan.cannotRestore);
    ({ set, as } = chooseSet(plan, img.inventory.rootPid, opts));
    preflight(plan, img);
    timer.mark('plan');
    exec = new Executor(plan, img, { onEvent, onStage: timer.mark, noBind: opts.noBind, bindDir: opts.bind, netnsPrefix: opts.netnsPrefix }, start);
  } catch (err) {
    // Nothing is made before the executor exists: what Startup started is all there is to end.
    start?.dispose();
    throw err;
  }
  try {
    const ready = await exec.make();
    timer.report('restore');
    if (signalled) return 128 + constants.signals[signalled];
    if (opts.command.length) {
      let code: number;
      try {
        code = await exec.attach(set, opts.command, plan.target.pidfd, (p) => (cmdPid = p), as);
      } finally {
        await exec.release('the command ended');
      }
      return code;
    }
    process.stdout.write(`${JSON.stringify({ root: ready.root, rootSet: ready.rootSet, sets: ready.sets, held: ready.held })}\n`);
    const died = await Promise.race([exec.watch(), new Promise<undefined>((r) => (wake = () => r(undefined)))]);
    if (signalled) {
      await exec.release(signalled);
      return 0;
    }
    await exec.release(died ?? 'released');
    throw new RestoreError(`${died}: everything else was released`);
  } catch (err) {
    if (signalled && !(err instanceof UsageError)) {
      await exec.release(signalled);
      return 128 + constants.signals[signalled];
    }
    throw err;
  }
}

/**
 * The set a command joins, and the dumped process it stands in for (whose ids it takes where the
 * set's user namespace is made; undefined: the set's first): the dumped root's, or --set's, or --pid's.
 */
function chooseSet(plan: Plan, rootPid: number | null, opts: RestoreCommandOptions): { set: number; as: number | undefined } {
  if (opts.set !== undefined) {
    if (!plan.steps.some((s) => s.op === 'spawn' && s.set === opts.set)) throw new UsageError(`--set ${opts.set}: the plan has sets 1 to ${plan.steps.filter((s) => s.op === 'spawn').length}`);
    return { set: opts.set, as: undefined };
  }
  if (opts.pid !== undefined) {
    const s = plan.steps.find((x) => x.op === 'spawn' && x.pids.includes(opts.pid!));
    if (!s || s.op !== 'spawn') throw new UsageError(`--pid ${opts.pid}: no process of the dumped tree has that pid`);
    return { set: s.set, as: opts.pid };
  }
  return { set: plan.rootSet, as: rootPid ?? undefined };
}
