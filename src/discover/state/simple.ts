// Why: the state of uts, ipc, time, pid and mnt namespaces: each read the one way that gives the
// namespace's own view (kernel-notes, "Reading state of another process's namespaces").
import type { NsNode } from '../graph.js';
import type { StateOf } from '../../model/image.js';
import { kernelText } from '../../model/kernel-text.js';
import { nsMntGetInfo } from '../../kernel/nsfs.js';
import { readFileAt } from '../../kernel/ffi.js';
import { readInside } from '../helper.js';
import { IPC_SYSCTLS } from '../../model/ipc.js';
import { sysctlPath, sysctlValue } from '../../model/sysctl.js';
import type { StateContext, StateResult } from './context.js';

export function readUts(ctx: StateContext, node: NsNode): StateResult<StateOf<'uts'>> {
  const u = ctx.within('uts', node, { kind: 'uname' });
  return { state: { hostname: kernelText(u.nodename), domainname: kernelText(u.domainname) }, note: '' };
}




export function readIpc(ctx: StateContext, node: NsNode): StateResult<StateOf<'ipc'>> {
  const texts = ctx.within('ipc', node, { kind: 'sysctls', paths: IPC_SYSCTLS.map(sysctlPath) });
  const sysctls: Record<string, string> = {};
  const missing: string[] = [];
  IPC_SYSCTLS.forEach((name, i) => {
    const text = texts[i];
    if (text === null || text === undefined) missing.push(name);
    else sysctls[name] = sysctlValue(text);
  });
  return { state: { sysctls }, note: missing.length ? `not on this kernel: ${missing.join(', ')}` : '' };
}

export function parseTimensOffsets(text: string): StateOf<'time'> {
  const get = (clock: string) => {
    const m = new RegExp(`^${clock}\\s+(-?\\d+)\\s+(\\d+)`, 'm').exec(text);
    if (!m) throw new Error(`timens_offsets: no ${clock} line`);
    return { seconds: Number(m[1]), nanoseconds: Number(m[2]) };
  };
  return { monotonic: get('monotonic'), boottime: get('boottime') };
}

/**
 * Offsets are absolute (relative to the host's clocks, not the parent's). /proc/PID/timens_offsets
 * shows PID's time_for_children, so read it from a process whose time_for_children is this ns.
 */
export function readTime(ctx: StateContext, node: NsNode): StateResult<StateOf<'time'>> {
  const text =
    ctx.withTimeReader(node, (m) => readFileAt(m.dirfd, 'timens_offsets', `/proc/${m.pid}/timens_offsets`)) ??
    readInside('time', ctx.fdPath(node), ['/proc/self/timens_offsets'])[0]!;
  return { state: parseTimensOffsets(text), note: '' };
}

export function readPid(ctx: StateContext, node: NsNode): StateResult<StateOf<'pid'>> {
  return { state: { level: ctx.graph.level(node) }, note: '' };
}


export function readMnt(ctx: StateContext, node: NsNode): StateResult<StateOf<'mnt'>> {
  const mounts = ctx.withMember(node, (m) => ctx.mountTables.get(node.key, m));
  if (ctx.features.mntNsInfo) {
    const { nrMounts } = nsMntGetInfo(node.fd, node.key);
    return { state: { mountCount: nrMounts, mounts: mounts ?? [] }, note: mounts === undefined ? 'no process inside: mount count only' : '' };
  }
  if (mounts === undefined) return { state: null, note: 'mount table not recorded: no process inside and no NS_MNT_GET_INFO' };
  return { state: { mountCount: mounts.length, mounts }, note: '' };
}
