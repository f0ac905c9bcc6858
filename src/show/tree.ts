// Why: the human view of an image, in the spirit of `lsns --tree` and lxkns's lsuns: user
// namespaces nested by parent, under each what it owns with its key state, and the processes that
// live there, grouped by the namespaces they share.
import { netStateOf, type Image, type Namespace, type NsRefs, type Process, type StateOf } from '../model/image.js';
import { quotedText, shownText } from '../model/kernel-text.js';
import { kernelMadeAddress, kernelMadeRoute, ruleText, tableName } from '../model/net.js';
import { NS_LINKS, NS_TYPES, isHierarchical, linkType, type NsLink } from '../model/species.js';
import { select, type Filter } from './select.js';

const name = (n: Namespace) => `${n.type}#${n.id}`;
import { plural } from './plural.js';
import { printableLines } from '../model/text.js';

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
        const other = netStateOf(img.namespaces[l.linkNetns - 1]);
        tags.push(`${arrow}net#${l.linkNetns} ${other?.interfaces.find((p) => p.index === l.link)?.name ?? `if${l.link}`}`);
      }
    }
    if (l.master) tags.push(`in ${byIndex.get(l.master)?.name ?? `if${l.master}`}`);
    if (l.vlanId) tags.push(`id ${l.vlanId}`);
    if (!l.flags.includes('UP')) tags.push('down');
    const addrs = l.addresses.filter((a) => !kernelMadeAddress(a)).map((a) => `${a.address}/${a.prefixLen}`);
    // (↔ as \u2194: a regular expression keeps what it is written with, and the bundle is ASCII.)
    return `${l.name}${tags.length ? `(${tags.join(' ').replace(/ (\u2194| on )/g, '$1')})` : ''}${addrs.length ? ` ${addrs.join(' ')}` : ''}`;
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

/** What a person needs to know about a namespace besides its name: flags, key state, why state is missing. */
export function stateBits(n: Namespace, img: Image, reference: Record<string, string> | undefined): string[] {
  const bits: string[] = [];
  if (n.initial) bits.push('initial');
  if (n.inScope) bits.push('dumper\'s own');
  if (n.ownerBeyondScope && !n.initial) bits.push('owner beyond scope');
  if (n.parentBeyondScope && !n.initial && isHierarchical(n.type)) bits.push('parent beyond scope');
  if (n.state) {
    switch (n.type) {
      case 'user':
        bits.push(`level ${n.state.level}`, `owner uid ${n.state.ownerUid}`, maps('uid', n.state.uidMap), maps('gid', n.state.gidMap));
        if (n.state.setgroups === 'deny') bits.push('setgroups deny');
        break;
      case 'pid': {
        bits.push(`level ${n.state.level}`);
        const parent = n.parent ? img.namespaces[n.parent - 1] : undefined;
        if (parent) bits.push(`child of ${name(parent)}`);
        break;
      }
      case 'uts':
        bits.push(`hostname ${quotedText(n.state.hostname)}`);
        if (n.state.domainname !== '(none)') bits.push(`domainname ${quotedText(n.state.domainname)}`);
        break;
      case 'ipc': {
        const changed = reference ? Object.entries(n.state.sysctls).filter(([k, v]) => reference[k] !== undefined && reference[k] !== v) : [];
        bits.push(changed.length ? changed.map(([k, v]) => `${k}=${v}`).join(' ') : reference ? 'sysctls as in the dumper\'s own' : `${Object.keys(n.state.sysctls).length} sysctls`);
        break;
      }
      case 'time':
        bits.push(`monotonic ${offset(n.state.monotonic)}`, `boottime ${offset(n.state.boottime)}`);
        break;
      case 'cgroup':
        bits.push(`root ${n.state.root || `unknown (${n.state.insidePath} inside)`}`);
        break;
      case 'mnt':
        bits.push(`${n.state.mountCount} mounts`);
        break;
      case 'net':
        bits.push(netSummary(n.state, img));
        break;
    }
  }
  if (n.stateNote) bits.push(`(${n.stateNote})`);
  return bits;
}

/** "held by fd 5 of pid 42", "held by bind mount /run/netns/x (seen by pid 42)". */
export function holderBits(n: Namespace): string[] {
  return n.holders.map((h) => (h.kind === 'fd' ? `held by fd ${h.fd} of pid ${h.pid}` : `held by bind mount ${JSON.stringify(h.path ?? '')} (seen by pid ${h.pid})`));
}

/** The dumper's own ipc sysctls: other ipc namespaces are described by what differs from them. */
export function referenceIpc(img: Image): Record<string, string> | undefined {
  return (img.namespaces.find((n) => n.type === 'ipc' && n.inScope)?.state as { sysctls: Record<string, string> } | undefined)?.sysctls;
}

function summary(n: Namespace, img: Image, reference: Record<string, string> | undefined): string {
  return `${name(n)} [${n.inode}] ${[...stateBits(n, img, reference), ...holderBits(n)].join(', ')}`;
}

/** A line of the tree and what hangs below it. */
interface Item {
  text: string;
  children: Item[];
}

/** Past this depth lines stop moving right (a forged image may nest processes thousands deep). */
const MAX_INDENT = 40;

/** Draw items and what hangs below them, depth first, without recursion (the depth is the image's). */
function print(items: Item[], prefix: string, top: boolean, out: string[]): void {
  const stack: { items: Item[]; i: number; prefix: string; top: boolean; depth: number }[] = [{ items, i: 0, prefix, top, depth: 0 }];
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    if (f.i >= f.items.length) {
      stack.pop();
      continue;
    }
    const it = f.items[f.i++]!;
    const last = f.i === f.items.length;
    const deep = f.depth > MAX_INDENT ? `[depth ${f.depth}] ` : '';
    out.push(`${f.top ? '' : `${f.prefix}${last ? '└─ ' : '├─ '}`}${deep}${it.text}`);
    if (!it.children.length) continue;
    const prefix = f.top ? '' : f.depth >= MAX_INDENT ? f.prefix : `${f.prefix}${last ? '   ' : '│  '}`;
    stack.push({ items: it.children, i: 0, prefix, top: false, depth: f.depth + 1 });
  }
}

/** Append to the list under `key` (a spread copy per entry would make building quadratic). */
function add<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const l = m.get(key);
  if (l) l.push(v);
  else m.set(key, [v]);
}

/** "pid#5 mnt#9 … pid_for_children=#6": the selected links of a set, the user namespace left to the tree. */
function setText(r: NsRefs, links: readonly NsLink[]): string {
  const ns = NS_TYPES.filter((t) => t !== 'user' && links.includes(t)).map((t) => (r[t] ? `${t}#${r[t]}` : `${t}#?`));
  for (const l of ['pid_for_children', 'time_for_children'] as const) {
    const base = l === 'pid_for_children' ? r.pid : r.time;
    if (links.includes(l) && r[l] !== base) ns.push(`${l}=${r[l] ? `#${r[l]}` : 'none'}`);
  }
  return ns.join(' ');
}

function groupLine(procs: Process[], links: readonly NsLink[]): string {
  const shown = procs.slice(0, 6).map((p) => `${p.pid} ${shownText(p.comm)}`);
  const more = procs.length > 6 ? ` and ${procs.length - 6} more` : '';
  const set = setText(procs[0]!.namespaces, links);
  return `${procs.length === 1 ? 'process' : plural(procs.length, 'process')} ${shown.join(', ')}${more}${set ? ` in ${set}` : ''}`;
}

export type TreeKind = 'owner' | 'parent' | 'process';

export interface TreeOptions extends Filter {
  /** lsns -T: by owning user namespace (default), by parent (user and pid), or by process. */
  tree?: TreeKind;
}

export function renderTree(img: Image, opts: TreeOptions = {}): string {
  const inv = img.inventory;
  const sel = select(img, opts);
  const lines: string[] = [
    `image: root pid ${inv.rootPid}, ${plural(img.namespaces.length, 'namespace')}, ${plural(img.processes.length, 'process')}` +
      `${img.threads.length ? `, ${plural(img.threads.length, 'thread')} apart` : ''}; dumped on ${inv.hostname} (kernel ${inv.kernelRelease}) ${new Date(inv.time).toISOString()} by nsdump ${inv.nsdumpVersion}`,
  ];
  const ownIpc = referenceIpc(img);
  const nsText = (n: Namespace) => (sel.context.has(n.id) ? `${name(n)} [${n.inode}] (owner of what is shown)` : summary(n, img, n.inScope ? undefined : ownIpc));
  const drawn = (n: Namespace) => sel.shown.has(n.id) || sel.context.has(n.id);
  const pids = new Set(sel.processes.map((p) => p.pid));
  const threads = img.threads.filter((t) => pids.has(t.pid));
  const threadsOf = new Map<number, typeof threads>();
  for (const t of threads) add(threadsOf, t.pid, t);
  const threadText = (t: (typeof threads)[number]) => `thread ${t.tid} of pid ${t.pid} in ${NS_TYPES.filter((ty) => sel.links.includes(ty)).map((ty) => `${ty}#${t.namespaces[ty] ?? '?'}`).join(' ')}`;

  if (opts.tree === 'process') {
    // lsns -T process: the process tree; below the first, each process names only the links that differ from its parent's.
    const kids = new Map<number, Process[]>();
    for (const p of sel.processes) add(kids, p.ppid, p);
    const text = (p: Process, parent: Process | undefined) => {
      const changed = parent ? sel.links.filter((l) => p.namespaces[l] !== parent.namespaces[l]) : sel.links;
      const what = changed.length ? changed.map((l) => (p.namespaces[l] === null ? `${l}=none` : `${l === linkType(l) ? '' : `${l}=`}${linkType(l)}#${p.namespaces[l]}`)).join(' ') : 'the same namespaces';
      return `${p.pid} ${shownText(p.comm)}: ${what}`;
    };
    // Built without recursion: a process tree is as deep as the image says.
    const todo: [Process, Item][] = [];
    const roots = sel.processes.filter((p) => !pids.has(p.ppid)).map((p): Item => {
      const it: Item = { text: text(p, undefined), children: [] };
      todo.push([p, it]);
      return it;
    });
    while (todo.length) {
      const [p, it] = todo.pop()!;
      for (const c of kids.get(p.pid) ?? []) {
        const ci: Item = { text: text(c, p), children: [] };
        it.children.push(ci);
        todo.push([c, ci]);
      }
      for (const t of threadsOf.get(p.pid) ?? []) it.children.push({ text: threadText(t), children: [] });
    }
    print(roots, '', true, lines);
    return `${printableLines(lines)}\n`;
  }

  if (opts.tree === 'parent') {
    // lsns -T parent: user and pid namespaces under their parents; the other types have none.
    const below = new Map<number | null, Namespace[]>();
    for (const n of img.namespaces) if (drawn(n)) add(below, n.parent, n);
    // Recursion bounded by nesting, which validation keeps within the kernel's limits.
    const item = (n: Namespace): Item => ({ text: nsText(n), children: isHierarchical(n.type) ? (below.get(n.id) ?? []).map(item) : [] });
    print((below.get(null) ?? []).map(item), '', true, lines);
    return `${printableLines(lines)}\n`;
  }

  const children = new Map<number | null, Namespace[]>();
  for (const n of img.namespaces) {
    if (!drawn(n)) continue;
    const key = n.type === 'user' ? n.parent : n.owner;
    add(children, key, n);
  }
  const groups = new Map<number | null, Map<string, Process[]>>();
  for (const p of sel.processes) {
    const u = p.namespaces.user;
    const byKey = groups.get(u) ?? new Map<string, Process[]>();
    const k = sel.links.map((l) => p.namespaces[l] ?? '-').join(',');
    add(byKey, k, p);
    groups.set(u, byKey);
  }
  const threadsIn = new Map<number | null, typeof threads>();
  for (const t of threads) add(threadsIn, t.namespaces.user, t);
  // Recursion bounded by user nesting, which validation keeps within the kernel's 33 levels.
  const item = (n: Namespace): Item => {
    if (n.type !== 'user') return { text: nsText(n), children: [] };
    const owned = children.get(n.id) ?? [];
    const procLines = [...(groups.get(n.id)?.values() ?? [])].map((ps) => ({ text: groupLine(ps, sel.links), children: [] }));
    const threadLines = (threadsIn.get(n.id) ?? []).map((t) => ({ text: threadText(t), children: [] }));
    return { text: nsText(n), children: [...owned.filter((c) => c.type !== 'user').map(item), ...procLines, ...threadLines, ...owned.filter((c) => c.type === 'user').map(item)] };
  };
  const tops = children.get(null) ?? [];
  print(tops.filter((x) => x.type === 'user').map(item), '', true, lines);
  const orphans = tops.filter((x) => x.type !== 'user');
  if (orphans.length) {
    lines.push('owned by a user namespace beyond the dumper\'s scope:');
    print(orphans.map(item), '', false, lines);
  }
  return `${printableLines(lines)}\n`;
}
