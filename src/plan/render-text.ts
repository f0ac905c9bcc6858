// Why: the plan as numbered steps a person can follow (nsdump plan --format text).
import type { Image } from '../model/image.js';
import type { Plan } from './schema.js';

export function renderText(plan: Plan, img: Image, dir: string): string {
  const inv = img.inventory;
  const lines = [
    `Plan to recreate the namespaces of ${dir} (root pid ${inv.rootPid}, dumped on ${inv.hostname}, kernel ${inv.kernelRelease})`,
    `for kernel ${plan.target.kernel}, ${plan.target.pidfd ? 'setns(pidfd) available: attach atomically' : 'no setns(pidfd): attach one namespace at a time'}.`,
    `Each created namespace is kept open by a holder process (an fd on it); placeholders are processes in the sets.`,
    '',
    `Reuse (the executor's own namespaces, joined, not created): ${plan.reuse.map((id) => `${img.namespaces[id - 1]!.type}#${id}`).join(' ') || 'none'}`,
    '',
  ];
  const width = String(plan.steps.length).length;
  for (const s of plan.steps) lines.push(`${String(s.n).padStart(width)}. ${s.summary}`);
  lines.push('', `The dumped root (pid ${inv.rootPid}) used set ${plan.rootSet}. Release: end the placeholders and holders.`);
  return `${lines.join('\n')}\n`;
}
