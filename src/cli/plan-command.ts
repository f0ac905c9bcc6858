// Why: `nsdump plan`: read and validate an image, plan for the target kernel, render.
import { uname } from '../kernel/ffi.js';
import { detectFeatures } from '../kernel/features.js';
import { readImage } from '../image/read.js';
import { buildPlan, type Target } from '../plan/build.js';
import { parseExternal } from '../plan/net.js';
import { renderSh } from '../plan/render-sh.js';
import { renderText } from '../plan/render-text.js';
import { validateForPlan } from '../plan/validate.js';
import { UsageError } from './exit-codes.js';

export function targetOf(opts: { kernel?: string | undefined; pidfd?: boolean | undefined }): Target {
  let kernel: string;
  if (opts.kernel !== undefined) {
    if (!/^\d{1,3}\.\d{1,3}$/.test(opts.kernel)) throw new UsageError(`--kernel ${opts.kernel}: expected X.Y, such as 6.18`);
    kernel = opts.kernel;
  } else {
    kernel = /^(\d+\.\d+)/.exec(uname().release)?.[1] ?? '0.0';
  }
  const [major = 0, minor = 0] = kernel.split('.').map(Number);
  // An explicit --kernel decides by version (setns(pidfd) came in 5.8); else ask this kernel.
  const kernelHasIt = opts.kernel !== undefined ? major > 5 || (major === 5 && minor >= 8) : detectFeatures().pidfdSetns;
  return { kernel, pidfd: opts.pidfd === false ? false : kernelHasIt };
}

export async function planCommand(opts: { dir: string; format: 'text' | 'json' | 'sh'; kernel?: string | undefined; pidfd?: boolean | undefined; external?: string[] | undefined }): Promise<number> {
  const external = (opts.external ?? []).map(parseExternal);
  const img = readImage(opts.dir);
  validateForPlan(opts.dir, img);
  const plan = buildPlan(img, targetOf(opts), { external });
  const out = opts.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : opts.format === 'sh' ? renderSh(plan, img, opts.dir) : renderText(plan, img, opts.dir);
  process.stdout.write(out);
  return 0;
}
