// Why: nsdump as a library, for orchestration scripts and tools: every operation the command line
// has — dump, read/write images, JSON in and out, validate, plan, restore, diff, render — with its
// option and result types and the typed errors it throws. The command line is a thin layer on this.
import { dump as dumpTarget } from './discover/dump.js';
import type { Image } from './model/image.js';
import { buildPlan } from './plan/build.js';
import { parseExternal } from './plan/net.js';
import type { Plan } from './plan/schema.js';
import { renderSh } from './plan/render-sh.js';
import { renderText } from './plan/render-text.js';
import { targetOf, type TargetOptions } from './plan/target.js';
import { validateForPlan } from './plan/validate.js';
import { validateImage } from './image/validate.js';

// ---- types -------------------------------------------------------------------------------------
export type { Features, Holder, IdMapLine, Image, Inventory, Mount, Namespace, NamespaceOf, NetInterface, NetRoute, NsRefs, Process, StateOf, Thread } from './model/image.js';
export { isNamespaceOf } from './model/image.js';
export { kernelText, kernelBytes, type KernelText } from './model/kernel-text.js';
export { Image as ImageSchema } from './model/image.js';
export type { Plan, Step, ProcessStep, Chain } from './plan/schema.js';
export { Plan as PlanSchema, PLAN_VERSION } from './plan/schema.js';
export type { Target } from './plan/build.js';
export type { TargetOptions } from './plan/target.js';
export { NS_TYPES, NS_LINKS, SPECIES, CLONE_FLAGS, type NsType, type NsLink, type Species } from './model/species.js';
export { KERNEL_FACTS, type KernelFact } from './model/kernels.js';
export { FORMAT_VERSION, NSDUMP_VERSION } from './model/format.js';

// ---- errors (each names itself; the CLI maps them to exit codes) -------------------------------
export { ImageError } from './image/errors.js';
export { OutputError } from './image/write.js';
export { NoSuchProcessError, PermissionError, TreeChangedError } from './discover/errors.js';
export { PlanError } from './plan/validate.js';
export { TargetError } from './plan/target.js';
export { ExternalMappingError } from './plan/net.js';
export { SyscallError } from './kernel/errors.js';
export { RestoreError } from './restore/run.js';

// ---- images ------------------------------------------------------------------------------------
/** Read and validate an image directory (ImageError on anything wrong; `code` EACCES/EPERM when not allowed to read it). */
export { readImage } from './image/read.js';
/** Write an image directory atomically; it must not exist (OutputError). Returns its absolute path. */
export { writeImage } from './image/write.js';
/** The image as `nsdump show --json` prints it, and back (validated, ImageError). */
export { imageToJson, imageFromJson } from './image/json.js';

// ---- dump --------------------------------------------------------------------------------------
export interface DumpOptions {
  /** Dump again this many times when the tree changed in a way the image cannot leave out (the root or a parent exited; default 2). */
  retries?: number;
  /** Stop the tree with SIGSTOP for the dump and resume exactly what was stopped, as CRIU does (not with `all`). */
  freeze?: boolean;
  /** Aborting it ends the dump at its next checkpoint; everything is released, what was frozen resumed. */
  signal?: AbortSignal;
}

/**
 * Record every namespace of the process tree rooted at `pid`, or with `'all'` of every process
 * the caller can see (like lsns). As root it sees everything; without root, its own processes and
 * what they own. Throws NoSuchProcessError, PermissionError, or TreeChangedError once the retries
 * are spent. uts/ipc/net/cgroup state is read by a thread inside each namespace: the calling thread
 * where it provably can come back, else a worker thread thrown away after the dump.
 */
export async function dump(pid: number | 'all', opts: DumpOptions = {}): Promise<Image> {
  return dumpTarget(pid === 'all' ? { all: true } : { pid }, { retries: opts.retries ?? 2, freeze: opts.freeze ?? false, ...(opts.signal ? { signal: opts.signal } : {}) });
}

// ---- validate and plan -------------------------------------------------------------------------
/**
 * Check an image rule by rule, as `nsdump plan` does before planning: ImageError for damaged
 * content (the rules every reader runs), PlanError for a sound image no plan can recreate. `name`
 * labels it in messages.
 */
export function validate(img: Image, name = 'image'): void {
  validateImage(img, (kind) => `${name}: ${kind}`);
  validateForPlan(name, img);
}

export interface PlanOptions extends TargetOptions {
  /** `veth:NAME[@NETNS]=HOSTNAME`: make these external veths with their other end in the executor's network namespace. */
  external?: string[];
}

/**
 * The ordered plan that recreates the image's namespaces on the target kernel (default: this one).
 * Validates first. PlanError when it cannot be planned (also: the target kernel cannot make it).
 */
export function plan(img: Image, opts: PlanOptions = {}): Plan {
  validate(img);
  return buildPlan(img, targetOf(opts), { external: (opts.external ?? []).map(parseExternal) });
}

// ---- restore -----------------------------------------------------------------------------------
/**
 * Carry the plan for an image directory out on this host, in a supervisor process (nsdump's own
 * command line), and hold everything until `release()`. Events arrive as they happen.
 */
export { restore, type RestoreOptions, type Restoring, type RestoreEvent, type SetInfo } from './restore/run.js';

// ---- diff --------------------------------------------------------------------------------------
/** Are two images the same namespaces, modulo kernel ids and pids? A verdict and the differences. */
export { diffImages as diff, DEFAULT_TIMEOUT_MS, type DiffOptions, type DiffResult, type Difference, type Verdict } from './diff/compare.js';

// ---- render ------------------------------------------------------------------------------------
/** The namespace tree `nsdump show` prints. */
export { renderTree } from './show/tree.js';

export type PlanFormat = 'text' | 'json' | 'sh';

/** A plan as `nsdump plan -f FORMAT` prints it; `name` is how the text and script refer to the image. */
export function renderPlan(p: Plan, img: Image, format: PlanFormat = 'text', name = 'image'): string {
  if (format === 'json') return `${JSON.stringify(p, null, 2)}\n`;
  return format === 'sh' ? renderSh(p, img, name) : renderText(p, img, name);
}
