// Why: the plan as numbered steps a person can follow (nsdump plan --format text).
import { printableLines } from '../model/text.js';
import type { Image } from '../model/image.js';
import type { Plan } from './schema.js';
import type { NetOp } from './schema.js';
import { ruleText, tableName } from '../model/net.js';

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
    const net = plan.net;
    if (net.ops.length || net.sysctls.length) {
      lines.push('Then, inside the restored network namespaces (iproute2 ip through nsenter; sysctls by the state writer):');
      for (const op of net.ops) lines.push(`  ${describeNetOp(op)}`);
      for (const s of net.sysctls) lines.push(`  net#${s.ns}: ${s.sysctls.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    for (const e of net.external) lines.push(`External, left to the orchestrator: net#${e.ns} ${e.kind} ${e.name}: ${e.why} (--external veth:NAME[@NETNS]=HOSTNAME maps a veth)`);
    for (const k of net.skipped) lines.push(`Not recreated: net#${k.ns} ${k.what}: ${k.why}`);
    lines.push('Release: close every process\'s channel (each ends), unmount what was bound, close the held fds.');
  }
  // Hostnames, sysctl values and the inventory's strings come from the image: shown as data.
  return `${printableLines(lines)}\n`;
}

function describeNetOp(op: NetOp): string {
  const at = `net#${op.ns}`;
  switch (op.op) {
    case 'link': {
      const extra = op.parent ? ` on ${op.parent}` : '';
      const peer = !op.peer ? '' : op.peer.ns === null ? `, other end ${op.peer.name} in the executor's own network namespace` : op.peer.ns === op.ns ? `, peer ${op.peer.name}` : `, peer ${op.peer.name} in net#${op.peer.ns}`;
      return `${at}: add ${op.kind} ${op.name}${extra}${op.mac ? ` ${op.mac}` : ''}${peer}`;
    }
    case 'master':
      return `${at}: ${op.name} becomes a port of ${op.master}`;
    case 'mtu':
      return `${at}: mtu ${op.mtu} on ${op.name}`;
    case 'up':
      return `${at}: ${op.name} up`;
    case 'address':
      return `${at}: address ${op.address}/${op.prefixLen}${op.peer ? ` peer ${op.peer}` : ''} on ${op.dev}`;
    case 'route':
      return `${at}: route ${op.dst ? `${op.dst}/${op.dstLen}` : 'default'}${op.gateway ? ` via ${op.gateway}` : ''}${op.dev ? ` dev ${op.dev}` : ''}${op.table === 254 ? '' : ` table ${tableName(op.table)}`}`;
    case 'rule':
    case 'unrule': {
      const { op: kind, ns: _n, ...rule } = op;
      return `${at}: ${kind === 'rule' ? 'add rule' : 'delete the default rule'} ${ruleText({ ...rule, complex: false })}`;
    }
  }
}
