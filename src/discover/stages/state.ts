// Why: stage five — each namespace's state, read in order (parents and owners first) by the one
// reader its type has. Beyond the dumper's scope some state is not its to read: the image records
// why, per namespace, instead of failing the dump.
import { SyscallError } from '../../kernel/errors.js';
import { ThreadNamespaces } from '../../kernel/switch.js';
import type { NsType } from '../../model/species.js';
import type { NsNode } from '../graph.js';
import { readCgroup } from '../state/cgroup.js';
import { type Member, StateContext, type StateResult } from '../state/context.js';
import { NetStateReader, makeScratchNetns } from '../state/net.js';
import { readIpc, readMnt, readPid, readTime, readUts } from '../state/simple.js';
import { UserStateReader } from '../state/user.js';
import type { DumpContext } from './context.js';

/** What each namespace type's state is, for the note that says it was not recorded. */
const STATE_WHAT: Record<NsType, string> = {
  user: 'id maps and setgroups',
  pid: 'level',
  mnt: 'mount table',
  net: 'interfaces',
  ipc: 'ipc sysctls',
  uts: 'hostname and domainname',
  cgroup: 'cgroup root',
  time: 'clock offsets',
};

export async function stateStage(ctx: DumpContext): Promise<void> {
  const { graph } = ctx;
  // Made before any thread switches: it is a helper process, waited for asynchronously.
  const hasNet = [...graph.nodes.values()].some((n) => n.type === 'net');
  const scratch = hasNet ? await makeScratchNetns() : { why: 'no net namespace' };
  if ('fd' in scratch) {
    ctx.scratchFd = scratch.fd;
    if (scratch.userFd !== null) ctx.scratchUserFd = scratch.userFd;
  }
  ctx.threads = new ThreadNamespaces();
  const self: Member = { pid: process.pid, dirfd: ctx.selfDir! };
  const sc = new StateContext(graph, ctx.members, ctx.timeForChildren, ctx.threads, ctx.scopeKeys, ctx.features, ctx.selfLinks!, self, ctx.mountTables, ctx.gone);
  const users = new UserStateReader(sc);
  const nets = (ctx.nets = new NetStateReader(sc, scratch));
  const readers: Record<NsType, (n: NsNode) => StateResult<unknown>> = {
    user: (n) => users.read(n),
    pid: (n) => readPid(sc, n),
    mnt: (n) => readMnt(sc, n),
    net: (n) => nets.read(n),
    ipc: (n) => readIpc(sc, n),
    uts: (n) => readUts(sc, n),
    cgroup: (n) => readCgroup(sc, n),
    time: (n) => readTime(sc, n),
  };
  for (const [i, key] of ctx.order.entries()) {
    if (i % 64 === 63) await ctx.pause();
    const n = graph.nodes.get(key)!;
    try {
      ctx.states.set(key, readers[n.type](n));
    } catch (err) {
      if (!(err instanceof SyscallError) || !['EPERM', 'EACCES'].includes(err.code)) throw err;
      ctx.states.set(key, { state: null, note: `${STATE_WHAT[n.type]} not recorded: not readable from this scope (${err.message})` });
    }
  }
}
