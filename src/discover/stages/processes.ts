// Why: stage one — the processes: the root and its descendants (or every process the dumper can
// see), each pinned by its /proc/PID directory fd, which every later stage reads it through.
import { walkAll, walkTree } from '../processes.js';
import type { DumpContext } from './context.js';

export async function processesStage(ctx: DumpContext): Promise<void> {
  // Pushed into ctx.procs as they are read, so that ctx.close() releases them also when this throws.
  if ('pid' in ctx.target) await walkTree(ctx.target.pid, ctx.procs, ctx.gaps, ctx.pause);
  else await walkAll(ctx.procs, ctx.gaps, ctx.pause);
}
