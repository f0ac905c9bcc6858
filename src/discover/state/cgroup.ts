// Why: a cgroup namespace's root and how a member's cgroup reads from inside: the reading thread
// must be inside the namespace, since a cgroup path is printed relative to the reader's cgroup root.
import type { NsNode } from '../graph.js';
import type { StateOf } from '../../model/image.js';
import { readFileAt } from '../../kernel/ffi.js';
import { SyscallError } from '../../kernel/errors.js';
import type { Member, StateContext, StateResult } from './context.js';

const ENOENT = 2;

/** The unified-hierarchy ("0::") path of /proc/PID/cgroup, or the first line's path on v1-only hosts. */
export function cgroupPath(text: string): string {
  const lines = text.split('\n').filter(Boolean);
  const line = lines.find((l) => l.startsWith('0::')) ?? lines[0] ?? '';
  return line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

/**
 * root + inside = outside, so the root is outside with the inside suffix removed. A member that sits
 * above the root reads as "/../x" from inside; the root is then not derivable from one process.
 */
export function deriveCgroupRoot(outside: string, inside: string): string {
  if (inside === '/') return outside;
  if (inside.startsWith('/..')) return '';
  if (!outside.endsWith(inside)) return '';
  return outside.slice(0, outside.length - inside.length) || '/';
}

export function readCgroup(ctx: StateContext, node: NsNode): StateResult<StateOf<'cgroup'>> {
  // The same process read from outside and from inside, through its pinned directory (a worker
  // thread shares our fds; a helper process is handed the file open).
  const read = (m: Member) => {
    const what = `/proc/${m.pid}/cgroup`;
    const outside = cgroupPath(readFileAt(m.dirfd, 'cgroup', what));
    const [text] = ctx.within('cgroup', node, { kind: 'pinnedFiles', files: [{ dirfd: m.dirfd, name: 'cgroup', what }] });
    if (text === null || text === undefined) throw new SyscallError('open', ENOENT, `/proc/${m.pid}/cgroup`);
    return { pid: m.pid, outside, inside: cgroupPath(text) };
  };
  // With no member at all, our own cgroup serves as the probe: the formula is the same.
  const r = ctx.withMember(node, read) ?? read(ctx.self);
  const root = deriveCgroupRoot(r.outside, r.inside);
  return { state: { root, insidePath: r.inside }, note: root ? '' : `root not derivable: pid ${r.pid} reads ${r.inside} from inside` };
}
