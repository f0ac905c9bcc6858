// Why: `nsdump dump`: call the library's dump (retries and --freeze live there), then write
// atomically. SIGINT, SIGTERM and SIGHUP stop the dump at its next checkpoint; whatever it held
// is released, what it froze resumed, nothing is left on disk, and nsdump then ends by that signal.
import { dump } from '../discover/dump.js';
import { DumpAbortedError } from '../discover/errors.js';
import { checkOutput, writeImage } from '../image/write.js';
import type { Image } from '../model/image.js';
import { plural } from '../show/plural.js';
import { UsageError } from './exit-codes.js';
import { stageTimer } from './timing.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function dumpCommand(opts: { pid: number | null; output: string; retries: number; quiet: boolean; freeze: boolean }): Promise<number> {
  if (opts.pid === null && opts.freeze) throw new UsageError('--all --freeze: refusing to stop every process of the system');
  // A path that can never hold the image is said before the tree is read (and perhaps frozen).
  checkOutput(opts.output);
  const ac = new AbortController();
  let caught: (typeof SIGNALS)[number] | undefined;
  const handlers = SIGNALS.map((sig) => {
    const h = () => {
      caught ??= sig;
      ac.abort(new DumpAbortedError(`stopped by ${sig}`));
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  const stopIfAsked = () => {
    if (ac.signal.aborted) throw ac.signal.reason;
  };
  try {
    const timer = stageTimer();
    const mark = timer.mark;
    const img: Image = await dump(opts.pid === null ? { all: true } : { pid: opts.pid }, {
      retries: opts.retries,
      freeze: opts.freeze,
      signal: ac.signal,
      onStage: mark,
    });
    mark('finish');
    const dir = writeImage(opts.output, img, stopIfAsked);
    mark('write');
    timer.report('dump');
    const skipped = img.inventory.unreadablePids;
    if (skipped.length) {
      process.stderr.write(
        `nsdump: ${plural(skipped.length, 'process')} left out, the kernel would not show ${skipped.length === 1 ? 'it' : 'them'} (EACCES): ` +
          `${skipped.slice(0, 8).join(', ')}${skipped.length > 8 ? ', …' : ''} (listed in the inventory)\n`,
      );
    }
    const unread = img.namespaces.filter((n) => n.state === null && n.stateNote.includes('not readable from this scope'));
    if (unread.length) {
      process.stderr.write(`nsdump: the state of ${plural(unread.length, 'namespace')} is beyond this scope's reach (${unread.map((n) => `${n.type}#${n.id}`).join(', ')}): see nsdump show\n`);
    }
    if (!opts.quiet) {
      const edge = img.namespaces.some((n) => (n.ownerBeyondScope || n.parentBeyondScope) && !n.initial);
      process.stdout.write(
        `dumped ${plural(img.namespaces.length, 'namespace')}, ${plural(img.processes.length, 'process')} to ${dir}` +
          (edge ? ' (some owners/parents lie beyond this scope: see nsdump show)' : '') +
          '\n',
      );
    }
    return 0;
  } catch (err) {
    if (caught && err instanceof DumpAbortedError) {
      // Everything is released: end by the signal itself, as an uncaught one would have.
      for (const [sig, h] of handlers) process.off(sig, h);
      process.kill(process.pid, caught);
    }
    throw err;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}
