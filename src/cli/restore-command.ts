// Why: `nsdump restore`: plan for this host and carry the plan out; hold, or run a command inside.
import { readImage } from '../image/read.js';
import { buildPlan } from '../plan/build.js';
import { validateForPlan } from '../plan/validate.js';
import { restore, type RestoreEvent } from '../restore/run.js';
import { targetOf } from './plan-command.js';
import { UsageError } from './exit-codes.js';

export async function restoreCommand(opts: { dir: string; hold: boolean; json: boolean; command: string[]; pidfd?: boolean | undefined }): Promise<number> {
  if (opts.hold && opts.command.length) throw new UsageError('--hold and a command exclude each other');
  if (!opts.hold && !opts.command.length) throw new UsageError('say --hold, or give a command after --');
  const img = readImage(opts.dir);
  validateForPlan(opts.dir, img);
  const plan = buildPlan(img, targetOf({ pidfd: opts.pidfd }));
  const tty = process.stderr.isTTY;
  const onEvent = (e: RestoreEvent) => {
    if (opts.json) process.stderr.write(`${JSON.stringify(e)}\n`);
    else if (tty && e.event === 'step') process.stderr.write(`nsdump: [${e.n}/${e.of}] ${e.summary}\n`);
  };
  const r = restore(plan, img, opts.dir, {
    command: opts.command.length ? opts.command : undefined,
    onEvent,
    onStderr: (line) => process.stderr.write(`${line}\n`),
  });
  if (opts.command.length) {
    // Signals reach the command through the terminal's process group; the script releases after.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => r.release());
    const code = await r.done;
    return code ?? 1;
  }
  const ready = await r.ready;
  process.stdout.write(`${JSON.stringify({ root: ready.root, script: ready.script, rootSet: ready.rootSet, sets: ready.sets })}\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    void r.done.then(() => resolve(), () => resolve());
  });
  r.release();
  await r.done;
  return 0;
}
