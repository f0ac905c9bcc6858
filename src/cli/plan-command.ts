// Why: `nsdump plan`: read and validate an image, plan for the target kernel, render.
import { readImage } from '../image/read.js';
import { buildPlan } from '../plan/build.js';
import { targetOf } from '../plan/target.js';
import { parseExternal } from '../plan/net.js';
import { renderSh } from '../plan/render-sh.js';
import { renderText } from '../plan/render-text.js';
import { validateForPlan } from '../plan/validate.js';

export async function planCommand(opts: { dir: string; format: 'text' | 'json' | 'sh'; kernel?: string | undefined; pidfd?: boolean | undefined; external?: string[] | undefined }): Promise<number> {
  // Options first: a usage error is said before the image is read.
  const external = (opts.external ?? []).map(parseExternal);
  const target = targetOf(opts);
  const img = readImage(opts.dir);
  validateForPlan(opts.dir, img);
  const plan = buildPlan(img, target, { external });
  const out = opts.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : opts.format === 'sh' ? renderSh(plan, img, opts.dir) : renderText(plan, img, opts.dir);
  process.stdout.write(out);
  return 0;
}
