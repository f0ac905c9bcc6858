// Why: `nsdump dump`: dump with retries when the tree changes under us, then write atomically.
import { rmSync } from 'node:fs';
import { dumpTree } from '../discover/dump.js';
import { TreeChangedError } from '../discover/errors.js';
import { pendingDirs, writeImage } from '../image/write.js';
import type { Image } from '../model/image.js';
import { plural } from '../show/plural.js';
import { stageTimer } from './timing.js';

/** A signal mid-write must not leave a half-written temporary directory behind. */
function cleanupOnSignal(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const d of pendingDirs) rmSync(d, { recursive: true, force: true });
      process.kill(process.pid, sig);
    });
  }
}

export async function dumpCommand(opts: { pid: number; output: string; retries: number; quiet: boolean }): Promise<number> {
  cleanupOnSignal();
  const timer = stageTimer();
  const mark = timer.mark;
  let img: Image | undefined;
  for (let attempt = 0; !img; attempt++) {
    try {
      img = await dumpTree(opts.pid, { onStage: mark });
    } catch (err) {
      if (!(err instanceof TreeChangedError) || attempt >= opts.retries) throw err;
    }
  }
  mark('finish');
  const dir = writeImage(opts.output, img);
  mark('write');
  timer.report('dump');
  if (!opts.quiet) {
    const edge = img.namespaces.some((n) => (n.ownerBeyondScope || n.parentBeyondScope) && !n.initial);
    process.stdout.write(
      `dumped ${plural(img.namespaces.length, 'namespace')}, ${plural(img.processes.length, 'process')} to ${dir}` +
        (edge ? ' (some owners/parents lie beyond this scope: see nsdump show)' : '') +
        '\n',
    );
  }
  return 0;
}
