// Why: stage six — per process, through its pinned /proc/PID directory: its credentials (status)
// and its pid at every level from the dumper's pid namespace inwards.
import { readFileAt } from '../../kernel/ffi.js';
import { nsGetTgidInPidns } from '../../kernel/nsfs.js';
import { overflowIds, parseCredentials } from '../credentials.js';
import { type NsGraph, type NsNode, nodeKey } from '../graph.js';
import type { ProcInfo } from '../processes.js';
import { parseNsPid } from '../procfs.js';
import { isVanished } from '../state/context.js';
import type { DumpContext } from './context.js';

export async function credentialsStage(ctx: DumpContext): Promise<void> {
  const overflow = overflowIds();
  for (const [i, p] of ctx.procs.entries()) {
    if (i % 256 === 255) await ctx.pause();
    if (ctx.gone.has(p.pid)) continue;
    try {
      const status = readFileAt(p.dirfd, 'status', `/proc/${p.pid}/status`);
      ctx.creds.set(p.pid, parseCredentials(status, overflow));
      ctx.nspids.set(p.pid, nsPids(ctx.graph, p, ctx.features.pidnsTranslate, status));
    } catch (err) {
      if (!isVanished(err)) throw err;
      ctx.gone.add(p.pid);
    }
  }
}

/**
 * A process's pid in every pid namespace from the dumper's inwards (as NSpid prints them, outermost
 * first): one ioctl per level where the kernel translates pids, else its status file.
 */
function nsPids(graph: NsGraph, p: ProcInfo, translate: boolean, status: string): number[] {
  if (!translate) return parseNsPid(status);
  const chain: NsNode[] = [];
  for (let n = graph.nodes.get(nodeKey('pid', p.links.pid!)); n; n = n.parent ? graph.nodes.get(n.parent) : undefined) chain.push(n);
  return chain.reverse().map((n, i) => (i === 0 ? p.pid : nsGetTgidInPidns(n.fd, p.pid, `pid ${p.pid} in ${n.key}`)));
}
