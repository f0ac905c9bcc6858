// Why: the human view of an image, in the spirit of `lsns --tree` and lxkns's lsuns: user
// namespaces nested by parent, under each what it owns with its key state, and the processes that
// live there, grouped by the namespaces they share.
import type { Image, Namespace, NsRefs, Process, StateOf } from '../model/image.js';
import { kernelMadeAddress, kernelMadeRoute, ruleText, tableName } from '../model/net.js';
import { NS_LINKS, NS_TYPES } from '../model/species.js';

const name = (n: Namespace) => `${n.type}#${n.id}`;
import { plural } from './plural.js';

function maps(label: string, m: { inside: number; outside: number; count: number }[]): string {
  if (!m.length) return `${label} unset`;
  return `${label} ${m.map((l) => `${l.inside}→${l.outside}×${l.count}`).join(',')}`;
}

function offset(t: { seconds: number; nanoseconds: number }): string {
  return `${t.seconds >= 0 ? '+' : ''}${t.seconds}${t.nanoseconds ? `.${String(t.nanoseconds).padStart(9, '0')}` : ''}s`;
}

/** "lo 127.0.0.1/8 ::1/128, eth0(veth↔net#6 eth0) 198.51.100.1/24; default via 198.51.100.2; net.ipv4.ip_forward=1". */
function netSummary(s: StateOf<'net'>, img: Image): string {
  const byIndex = new Map(s.interfaces.map((l) => [l.index, l]));
  const links = s.interfaces.map((l) => {
    const tags: string[] = [];
    if (l.kind) tags.push(l.kind);
    if (l.link) {
      const arrow = l.kind === 'veth' ? '↔' : ' on ';
      if (l.linkOutside) tags.push(`${arrow}outside`);
      else if (l.linkNetns === null) tags.push(`${arrow}${byIndex.get(l.link)?.name ?? `if${l.link}`}`);
      else {
        const other = img.namespaces[l.linkNetns - 1]?.state as StateOf<'net'> | null | undefined;
        tags.push(`${arrow}net#${l.linkNetns} ${other?.interfaces.find((p) => p.index === l.link)?.name ?? `if${l.link}`}`);
      }
    }
    if (l.master) tags.push(`in ${byIndex.get(l.master)?.name ?? `if${l.master}`}`);
    if (l.vlanId) tags.push(`id ${l.vlanId}`);
    if (!l.flags.includes('UP')) tags.push('down');
    const addrs = l.addresses.filter((a) => !kernelMadeAddress(a)).map((a) => `${a.address}/${a.prefixLen}`);
    return `${l.name}${tags.length ? `(${tags.join(' ').replace(/ (↔| on )/g, '$1')})` : ''}${addrs.length ? ` ${addrs.join(' ')}` : ''}`;
  });
  const parts = [links.join(', ') || 'no interfaces'];
  const routes = s.routes.filter((r) => !kernelMadeRoute(r)).map((r) => `${r.dst ? `${r.dst}/${r.dstLen}` : 'default'}${r.gateway ? ` via ${r.gateway}` : r.dev ? ` dev ${r.dev}` : ''}${r.table === 254 ? '' : ` table ${tableName(r.table)}`}`);
  if (routes.length) parts.push(`routes ${routes.join(', ')}`);
  const rules = [...s.rules.map(ruleText), ...s.missingDefaultRules.map((r) => `no ${ruleText(r)}`)];
  if (rules.length) parts.push(`rules ${rules.join(', ')}`);
  const sysctls = Object.entries(s.sysctls).map(([k, v]) => `${k}=${v}`);
  if (sysctls.length) parts.push(sysctls.join(' '));
  return parts.join('; ');
}

function summary(n: Namespace, img: Image, reference: Record<string, string> | undefined): string {
  const bits: string[] = [];
  if (n.initial) bits.push('initial');
  if (n.inScope) bits.push('dumper\'s own');
  if (n.ownerBeyondScope && !n.initial) bits.push('owner beyond scope');
  if (n.parentBeyondScope && !n.initial && (n.type === 'user' || n.type === 'pid')) bits.push('parent beyond scope');
  const s = n.state as Record<string, any> | null;
  if (s) {
    switch (n.type) {
      case 'user':
        bits.push(`level ${s.level}`, `owner uid ${s.ownerUid}`, maps('uid', s.uidMap), maps('gid', s.gidMap));
        if (s.setgroups === 'deny') bits.push('setgroups deny');
        break;
      case 'pid': {
        bits.push(`level ${s.level}`);
        const parent = n.parent ? img.namespaces[n.parent - 1] : undefined;
        if (parent) bits.push(`child of ${name(parent)}`);
        break;
      }
      case 'uts':
        bits.push(`hostname ${JSON.stringify(s.hostname)}`);
        if (s.domainname !== '(none)') bits.push(`domainname ${JSON.stringify(s.domainname)}`);
        break;
      case 'ipc': {
        const changed = reference ? Object.entries(s.sysctls as Record<string, string>).filter(([k, v]) => reference[k] !== undefined && reference[k] !== v) : [];
        bits.push(changed.length ? changed.map(([k, v]) => `${k}=${v}`).join(' ') : reference ? 'sysctls as in the dumper\'s own' : `${Object.keys(s.sysctls).length} sysctls`);
        break;
      }
      case 'time':
        bits.push(`monotonic ${offset(s.monotonic)}`, `boottime ${offset(s.boottime)}`);
        break;
      case 'cgroup':
        bits.push(`root ${s.root || `unknown (${s.insidePath} inside)`}`);
        break;
      case 'mnt':
        bits.push(`${s.mountCount} mounts`);
        break;
      case 'net':
        bits.push(netSummary(s as StateOf<'net'>, img));
        break;
    }
  }
  if (n.stateNote) bits.push(`(${n.stateNote})`);
  for (const h of n.holders) bits.push(h.kind === 'fd' ? `held by fd ${h.fd} of pid ${h.pid}` : `held by bind mount ${h.path} (seen by pid ${h.pid})`);
  return `${name(n)} [${n.inode}] ${bits.join(', ')}`;
}

function refsKey(r: NsRefs): string {
  return NS_LINKS.map((l) => r[l] ?? '-').join(',');
}

function groupLine(img: Image, procs: Process[]): string {
  const r = procs[0]!.namespaces;
  const ns = NS_TYPES.filter((t) => t !== 'user').map((t) => (r[t] ? `${t}#${r[t]}` : `${t}#?`));
  for (const l of ['pid_for_children', 'time_for_children'] as const) {
    const base = l === 'pid_for_children' ? r.pid : r.time;
    if (r[l] !== base) ns.push(`${l}=${r[l] ? `#${r[l]}` : 'none'}`);
  }
  const shown = procs.slice(0, 6).map((p) => `${p.pid} ${p.comm}`);
  const more = procs.length > 6 ? ` and ${procs.length - 6} more` : '';
  return `${procs.length === 1 ? 'process' : plural(procs.length, 'process')} ${shown.join(', ')}${more} in ${ns.join(' ')}`;
}

export function renderTree(img: Image): string {
  const inv = img.inventory;
  const lines: string[] = [
    `image: root pid ${inv.rootPid}, ${plural(img.namespaces.length, 'namespace')}, ${plural(img.processes.length, 'process')}` +
      `${img.threads.length ? `, ${plural(img.threads.length, 'thread')} apart` : ''}; dumped on ${inv.hostname} (kernel ${inv.kernelRelease}) ${new Date(inv.time).toISOString()} by nsdump ${inv.nsdumpVersion}`,
  ];
  const ownIpc = img.namespaces.find((n) => n.type === 'ipc' && n.inScope)?.state as { sysctls: Record<string, string> } | undefined;
  const children = new Map<number | null, Namespace[]>();
  for (const n of img.namespaces) {
    const key = n.type === 'user' ? n.parent : n.owner;
    const list = children.get(key) ?? [];
    list.push(n);
    children.set(key, list);
  }
  const groups = new Map<number | null, Map<string, Process[]>>();
  for (const p of img.processes) {
    const u = p.namespaces.user;
    const byKey = groups.get(u) ?? new Map<string, Process[]>();
    const k = refsKey(p.namespaces);
    byKey.set(k, [...(byKey.get(k) ?? []), p]);
    groups.set(u, byKey);
  }
  const threadsOf = new Map<number | null, typeof img.threads>();
  for (const t of img.threads) threadsOf.set(t.namespaces.user, [...(threadsOf.get(t.namespaces.user) ?? []), t]);

  const walk = (n: Namespace, prefix: string, last: boolean, top: boolean) => {
    lines.push(`${top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${summary(n, img, n.inScope ? undefined : ownIpc?.sysctls)}`);
    if (n.type !== 'user') return;
    const inner = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    const owned = children.get(n.id) ?? [];
    const items: (() => void)[] = [];
    const nonUser = owned.filter((c) => c.type !== 'user');
    const users = owned.filter((c) => c.type === 'user');
    const procLines = [...(groups.get(n.id)?.values() ?? [])].map((ps) => groupLine(img, ps));
    const threadLines = (threadsOf.get(n.id) ?? []).map((t) => `thread ${t.tid} of pid ${t.pid} in ${NS_TYPES.map((ty) => `${ty}#${t.namespaces[ty] ?? '?'}`).join(' ')}`);
    const total = nonUser.length + procLines.length + threadLines.length + users.length;
    let i = 0;
    for (const c of nonUser) items.push(((c, isLast) => () => walk(c, inner, isLast, false))(c, ++i === total));
    for (const l of [...procLines, ...threadLines]) items.push(((l, isLast) => () => lines.push(`${inner}${isLast ? '└─ ' : '├─ '}${l}`))(l, ++i === total));
    for (const c of users) items.push(((c, isLast) => () => walk(c, inner, isLast, false))(c, ++i === total));
    for (const f of items) f();
  };
  const tops = children.get(null) ?? [];
  for (const n of tops.filter((x) => x.type === 'user')) walk(n, '', true, true);
  const orphans = tops.filter((x) => x.type !== 'user');
  if (orphans.length) {
    lines.push('owned by a user namespace beyond the dumper\'s scope:');
    orphans.forEach((n, i) => walk(n, '', i === orphans.length - 1, false));
  }
  return `${lines.join('\n')}\n`;
}
