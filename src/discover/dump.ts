// Why: the dump pipeline — the stages, in the one list below that runs them in order
// (src/discover/stages/, one file each, all working on one DumpContext) — and around it the retry
// loop and the optional freeze. The context owns every fd a stage opens and closes them all on
// every path out. A process that exits mid-dump no longer exists, so it is simply left out —
// unless the rest of the image needed it (the root, or the parent of a process still there): only
// then is the dump tried again.
import { stat } from 'node:fs/promises';
import { SyscallError } from '../kernel/errors.js';
import type { Image } from '../model/image.js';
import { DumpAbortedError, TreeChangedError } from './errors.js';
import { Freezer } from './freeze.js';
import { isVanished } from './state/context.js';
import { assembleStage } from './stages/assemble.js';
import { DumpContext, type DumpTarget } from './stages/context.js';
import { credentialsStage } from './stages/credentials.js';
import { holdersStage } from './stages/holders.js';
import { namespacesStage } from './stages/namespaces.js';
import { orderStage } from './stages/order.js';
import { processesStage } from './stages/processes.js';
import { stateStage } from './stages/state.js';

export type { DumpTarget } from './stages/context.js';

/** The stages, in the order they run; each one's name is reported (onStage) once it is done. */
export const STAGES = [
  { name: 'processes', run: processesStage },
  { name: 'namespaces', run: namespacesStage },
  { name: 'holders', run: holdersStage },
  { name: 'order', run: orderStage },
  { name: 'state', run: stateStage },
  { name: 'credentials', run: credentialsStage },
  { name: 'assemble', run: assembleStage },
] as const satisfies readonly { name: string; run: (ctx: DumpContext) => void | Promise<void> }[];

export type DumpStage = (typeof STAGES)[number]['name'];

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
  const ctx = new DumpContext(target, pauser(opts.signal));
  try {
    // Start libuv's thread pool before the main thread ever switches namespaces: a pool thread
    // created during a switch would stay in the foreign namespace for good (kernel-notes).
    await stat('/proc/self');
    await ctx.pause();
    for (const stage of STAGES) {
      await stage.run(ctx);
      opts.onStage?.(stage.name);
      await ctx.pause();
    }
    if (!ctx.image) throw new Error('the dump stages ended without an image');
    return ctx.image;
  } finally {
    await ctx.close();
  }
}
