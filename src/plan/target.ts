// Why: the kernel a plan is for — this one, probed, or `--kernel X.Y`, judged by the version table
// (model/kernels.ts) — and whether it can attach a set atomically with setns(pidfd).
import { uname } from '../kernel/ffi.js';
import { detectFeatures } from '../kernel/features.js';
import { has, parseKernelVersion, versionText } from '../model/kernels.js';
import type { Target } from './build.js';

/** A kernel version that is not X.Y (a usage error where a person typed it). */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export interface TargetOptions {
  /** "X.Y" of the target kernel; default: the running one. */
  kernel?: string | undefined;
  /** false: attach one namespace at a time even where setns(pidfd) exists. */
  pidfd?: boolean | undefined;
}

export function targetOf(opts: TargetOptions = {}): Target {
  if (opts.kernel !== undefined) {
    const v = parseKernelVersion(opts.kernel);
    if (!v) throw new TargetError(`--kernel ${opts.kernel}: expected X.Y, such as 6.18`);
    // An explicit kernel is judged by its version; the running one below is asked.
    return { kernel: versionText(v), pidfd: opts.pidfd !== false && has(v, 'setns-pidfd') };
  }
  const kernel = /^(\d+\.\d+)/.exec(uname().release)?.[1] ?? '0.0';
  return { kernel, pidfd: opts.pidfd !== false && detectFeatures().pidfdSetns };
}
