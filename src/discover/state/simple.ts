// Why: the state of uts, ipc, time, pid and mnt namespaces: each read the one way that gives the
// namespace's own view (kernel-notes, "Reading state of another process's namespaces").
import type { NsNode } from '../graph.js';
import type { StateOf } from '../../model/image.js';
import { nsMntGetInfo } from '../../kernel/nsfs.js';
import { readText } from '../procfs.js';
import { readInside } from '../helper.js';
import { IPC_SYSCTLS } from '../../model/ipc.js';
import type { StateContext, StateResult } from './context.js';

export function readUts(ctx: StateContext, node: NsNode): StateResult<StateOf<'uts'>> {
  const u = ctx.threads.within('uts', node.fd, node.inode, { kind: 'uname' });
  return { state: { hostname: u.nodename, domainname: u.domainname }, note: '' };
}



const SYSCTL_PATHS = Object.fromEntries(IPC_SYSCTLS.map((n) => [n, `/proc/sys/${n.replace(/\./g, '/')}`])) as Record<string, string>;

export function readIpc(ctx: StateContext, node: NsNode): StateResult<StateOf<'ipc'>> {
  const texts = ctx.threads.within('ipc', node.fd, node.inode, { kind: 'files', paths: IPC_SYSCTLS.map((n) => SYSCTL_PATHS[n]!) });
  const sysctls: Record<string, string> = {};
  const missing: string[] = [];
  IPC_SYSCTLS.forEach((name, i) => {
    const text = texts[i];
    // kernel.sem separates its four values with tabs; store them space-separated.
    if (text === null || text === undefined) missing.push(name);
    else sysctls[name] = text.trim().split(/\s+/).join(' ');
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
  const pid = ctx.timeReader(node);
  const text = pid !== undefined ? readText(`/proc/${pid}/timens_offsets`) : readInside('time', ctx.fdPath(node), ['/proc/self/timens_offsets'])[0]!;
  return { state: parseTimensOffsets(text), note: '' };
}

export function readPid(ctx: StateContext, node: NsNode): StateResult<StateOf<'pid'>> {
  return { state: { level: ctx.graph.level(node) }, note: '' };
}


export function readMnt(ctx: StateContext, node: NsNode): StateResult<StateOf<'mnt'>> {
  const pid = ctx.firstMember(node);
  const mounts = pid !== undefined ? ctx.mountTables.get(node.key, pid) : [];
  if (ctx.features.mntNsInfo) {
    const { nrMounts } = nsMntGetInfo(node.fd, node.key);
    return { state: { mountCount: nrMounts, mounts }, note: pid === undefined ? 'no process inside: mount count only' : '' };
  }
  if (pid === undefined) return { state: null, note: 'no process inside and no NS_MNT_GET_INFO: mount table unknown' };
  return { state: { mountCount: mounts.length, mounts }, note: '' };
}
