// Why: what only root can do is named where it is refused. A dump needs no privilege of its own
// (one's own processes are readable), but the demo builds namespaces and restores them.
import { readText } from './procfs.js';
import { PermissionError } from './errors.js';

const CAP_SYS_PTRACE = 19n;
const CAP_SYS_ADMIN = 21n;

/** The demo creates and enters namespaces of every type: CAP_SYS_ADMIN and CAP_SYS_PTRACE. */
export function checkPrivileges(): void {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readText('/proc/self/status'));
  const eff = m ? BigInt(`0x${m[1]}`) : 0n;
  if (!((eff >> CAP_SYS_PTRACE) & 1n) || !((eff >> CAP_SYS_ADMIN) & 1n)) {
    throw new PermissionError('demo needs root (CAP_SYS_ADMIN and CAP_SYS_PTRACE)');
  }
}
