// Why: the plan as numbered steps a person can follow (nsdump plan --format text).
import type { Image } from '../model/image.js';
import type { Plan } from './schema.js';

export function renderText(plan: Plan, img: Image, dir: string): string {
  const inv = img.inventory;
  const lines = [
    `Plan to recreate the namespaces of ${dir} (root pid ${inv.rootPid}, dumped on ${inv.hostname}, kernel ${inv.kernelRelease})`,
    `for kernel ${plan.target.kernel}, ${plan.target.pidfd ? 'setns(pidfd) available: attach atomically' : 'no setns(pidfd): attach one namespace at a time'}.`,
    `The executor holds an fd on each created namespace; a placeholder process lives in each set.`,
    '',
    `Reuse (the executor's own namespaces, joined, not created): ${plan.reuse.map((id) => `${img.namespaces[id - 1]!.type}#${id}`).join(' ') || 'none'}`,
    '',
  ];
  const width = String(plan.steps.length).length;
  for (const s of plan.steps) lines.push(`${String(s.n).padStart(width)}. ${s.summary}`);
  lines.push('', `The dumped root (pid ${inv.rootPid}) used set ${plan.rootSet}.`, '');
  if (plan.cannotRestore) lines.push(`nsdump restore cannot carry this plan out: ${plan.cannotRestore}`);
  else {
    lines.push('How nsdump restore makes them: the dumped process tree, replayed, one process per set:');
    for (const p of plan.processes) lines.push(`  process ${p.n}: ${p.summary}`);
    lines.push('Release: close every process\'s channel (each ends), unmount what was bound, close the held fds.');
  }
  return `${lines.join('\n')}\n`;
}
