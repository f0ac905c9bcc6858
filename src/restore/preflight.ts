// Why: what the kernel will refuse halfway is refused before anything is made (exit 8, one line):
// writes only global root may do, when the executor is not global root, and time offsets the
// target host cannot take (the kernel refuses an offset below minus the clock's current value).
import { readFileSync } from 'node:fs';
import type { Image } from '../model/image.js';
import { ReplayBuilder } from '../plan/replay.js';
import type { Plan } from '../plan/schema.js';
import { PlanError } from '../plan/validate.js';
import { freshIpcDefaults } from './ipc-defaults.js';

/** True when this process is root of the initial user namespace (its uid_map is the identity). */
export function isGlobalRoot(): boolean {
  const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).map(Number);
  return process.geteuid?.() === 0 && map[0] === 0 && map[1] === 0 && map[2] === 4294967295;
}

/** Exit 5, like every permission edge (the CLI maps errors to codes by name). */
export class RestorePermissionError extends Error {
  override readonly name = 'PermissionError';
}

export function preflight(plan: Plan, img: Image, clocks = readClocks()): void {
  if (process.geteuid?.() !== 0) throw new RestorePermissionError('restore: needs root (of the initial user namespace, or of a container\'s): it makes namespaces');
  const created = new Set(plan.steps.flatMap((s) => (s.op === 'create' ? s.creates : [])));
  const maps = new ReplayBuilder(img, new Map());
  const global = isGlobalRoot();
  for (const n of img.namespaces) {
    if (!created.has(n.id) || !n.state) continue;
    if (n.type === 'ipc' && !global && maps.toExec(n.owner!, 0, 'uid') === null) {
      // A new ipc namespace starts with the kernel's defaults: only values that differ need a write.
      const defaults = freshIpcDefaults();
      const differ = Object.entries(n.state.sysctls).filter(([k, v]) => !k.endsWith('_next_id') && defaults.get(k) !== undefined && defaults.get(k) !== v);
      if (differ.length) throw new PlanError(`ipc#${n.id}: ${differ.map(([k]) => k).join(', ')} may be written only by global root (its owner user#${n.owner} maps no uid 0), and this restore does not run as global root`);
    }
    if (n.type === 'time') {
      const t = n.state;
      for (const [clock, now] of [['monotonic', clocks.monotonic], ['boottime', clocks.boottime]] as const) {
        if (t[clock].seconds < -now) throw new PlanError(`time#${n.id}: a ${clock} offset of ${t[clock].seconds} s is below minus this host's ${clock} clock (${Math.floor(now)} s): the kernel would refuse it (ERANGE)`);
      }
    }
  }
}

/** CLOCK_MONOTONIC (process.hrtime) and CLOCK_BOOTTIME (/proc/uptime), in seconds. */
function readClocks(): { monotonic: number; boottime: number } {
  return { monotonic: Number(process.hrtime.bigint() / 1_000_000_000n), boottime: Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) };
}
