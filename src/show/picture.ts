// Why: DOT, Mermaid and SVG must draw the same picture of an image, so the picture is built once
// here as plain data — nested boxes, nodes, edges, each label a list of unescaped text lines —
// and each format only escapes and prints it. The shape is chosen to stay readable at hundreds of
// namespaces: user namespaces are boxes nested by parent holding what they own, so ownership and
// user nesting need no edges at all; the only edges are a process group's links to namespaces in
// its own box and pid-namespace parenthood. Everything else a group is in is named in its label.
import type { Image, Namespace, Process, Thread } from '../model/image.js';
import { shownText } from '../model/kernel-text.js';
import { plural } from './plural.js';
import { select, type Filter, type Selection } from './select.js';
import { holderBits, referenceIpc, stateBits } from './tree.js';

/** How a box or node is drawn: the dumper's own, context only, or what a diff found. */
export type Mark = 'plain' | 'own' | 'context' | 'changed' | 'extra' | 'missing';

export interface PicNode {
  id: string;
  lines: string[];
  kind: 'ns' | 'procs';
  mark: Mark;
  /** The image id of the namespace it stands for. */
  nsId?: number;
}

export interface PicBox {
  id: string;
  lines: string[];
  kind: 'scope' | 'user' | 'orphans' | 'missing' | 'flat';
  mark: Mark;
  nodes: PicNode[];
  boxes: PicBox[];
  /** For a user namespace's box: its image id. */
  nsId?: number;
}

export interface PicEdge {
  from: string;
  to: string;
  /** member: a group is in it; for-children: a group's pid/time_for_children; parent: pid namespace parent → child. */
  kind: 'member' | 'for-children' | 'parent';
}

export interface Picture {
  title: string;
  legend: string[];
  boxes: PicBox[];
  edges: PicEdge[];
}

/** What `diff --format svg` colours: namespaces of the second image, its changed sets, the first's missing namespaces. */
export interface DiffMarks {
  ns: Map<number, 'changed' | 'extra'>;
  /** Pids (of the second image) whose namespace set changed or is new. */
  pids: Set<number>;
  /** Namespaces only the first image has. */
  missing: { ns: Namespace; lines: string[] }[];
  /** One line per difference, for the picture's legend. */
  notes: string[];
}

export interface PictureOptions extends Filter {
  marks?: DiffMarks;
  /** Replaces the first line of the title (diff: "first → second"). */
  title?: string;
}

/** Node and box ids: only letters, digits and '_' so that no format needs to quote them. */
export const nodeId = (id: number) => `ns${id}`;
export const boxId = (id: number) => `cluster_ns${id}`;

/** Wrap a line at spaces to about `width` characters; a person reads narrow boxes better at scale. */
export function wrap(text: string, width = 46): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

const named = (n: Namespace) => `${n.type}#${n.id} [${n.inode}]`;

function nsLines(n: Namespace, img: Image, reference: Record<string, string> | undefined): string[] {
  const bits = stateBits(n, img, n.inScope ? undefined : reference);
  return [named(n), ...wrap(bits.join(', ')), ...holderBits(n).flatMap((h) => wrap(h))];
}

interface Group {
  key: string;
  refs: Process['namespaces'];
  procs: Process[];
  threads: Thread[];
}

/** Processes (and threads apart from their leader) grouped by the namespaces of the selected types they share. */
function groupProcesses(img: Image, sel: Selection): Map<string, Group> {
  const groups = new Map<string, Group>();
  const groupOf = (refs: Process['namespaces']) => {
    const key = sel.links.map((l) => refs[l] ?? '-').join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, refs, procs: [], threads: [] }));
    return g;
  };
  for (const p of sel.processes) groupOf(p.namespaces).procs.push(p);
  const pids = new Set(sel.processes.map((p) => p.pid));
  for (const t of img.threads) if (pids.has(t.pid)) groupOf(t.namespaces).threads.push(t);
  return groups;
}

export function buildPicture(img: Image, opts: PictureOptions = {}): Picture {
  const sel: Selection = select(img, opts);
  const byId = new Map(img.namespaces.map((n) => [n.id, n]));
  const drawn = (id: number | null): id is number => id !== null && (sel.shown.has(id) || sel.context.has(id));
  const reference = referenceIpc(img);
  const markOf = (n: Namespace): Mark => opts.marks?.ns.get(n.id) ?? (sel.context.has(n.id) ? 'context' : n.inScope ? 'own' : 'plain');

  // One box per drawn user namespace, nested by parent; the rest go in their owner's box.
  const boxes = new Map<number, PicBox>();
  for (const n of img.namespaces) {
    if (n.type !== 'user' || !drawn(n.id)) continue;
    const lines = sel.context.has(n.id) ? [named(n)] : nsLines(n, img, reference);
    boxes.set(n.id, { id: boxId(n.id), lines, kind: 'user', mark: markOf(n), nodes: [], boxes: [], nsId: n.id });
  }
  const scope: PicBox = { id: 'cluster_scope', lines: [], kind: 'scope', mark: 'plain', nodes: [], boxes: [] };
  const orphans: PicBox = { id: 'cluster_owner_beyond', lines: ['owned by a user namespace beyond the dumper\'s scope'], kind: 'orphans', mark: 'plain', nodes: [], boxes: [] };
  const home = (n: Namespace): PicBox => {
    const up = n.type === 'user' ? n.parent : n.owner;
    if (up !== null && boxes.has(up)) return boxes.get(up)!;
    return n.type === 'user' ? scope : orphans;
  };
  for (const [id, box] of boxes) home(byId.get(id)!).boxes.push(box);
  for (const n of img.namespaces) {
    if (n.type === 'user' || !sel.shown.has(n.id)) continue;
    home(n).nodes.push({ id: nodeId(n.id), lines: nsLines(n, img, reference), kind: 'ns', mark: markOf(n), nsId: n.id });
  }
  if (orphans.nodes.length) scope.boxes.push(orphans);

  const edges: PicEdge[] = [];
  for (const n of img.namespaces) {
    if (n.type === 'pid' && n.parent !== null && sel.shown.has(n.id) && sel.shown.has(n.parent)) edges.push({ from: nodeId(n.parent), to: nodeId(n.id), kind: 'parent' });
  }

  const groups = groupProcesses(img, sel);
  let gi = 0;
  for (const g of groups.values()) {
    const id = `set${++gi}`;
    // Its box: its user namespace's, else the owner of the first namespace of it that is drawn.
    const anchor = drawn(g.refs.user) ? byId.get(g.refs.user)! : sel.links.map((l) => g.refs[l]).filter(drawn).map((x) => byId.get(x)!)[0];
    const box = anchor === undefined ? scope : anchor.type === 'user' ? boxes.get(anchor.id)! : home(anchor);
    const boxUser = box.nsId;
    const here = (n: Namespace) => n.type !== 'user' && n.owner === boxUser && boxUser !== undefined;
    const elsewhere: string[] = [];
    // The dumper's own namespaces are one of each type: naming the type is enough.
    const own: string[] = [];
    const edgeTo = new Map<number, PicEdge['kind']>();
    for (const l of sel.links) {
      const ref = g.refs[l];
      if (l === 'user' && ref === boxUser) continue;
      const forChildren = l === 'pid_for_children' || l === 'time_for_children';
      const base = l === 'pid_for_children' ? g.refs.pid : l === 'time_for_children' ? g.refs.time : undefined;
      if (forChildren && ref === base) continue;
      if (ref === null) {
        elsewhere.push(`${l}=none`);
        continue;
      }
      const n = byId.get(ref)!;
      if (sel.shown.has(ref) && here(n)) {
        if (!edgeTo.has(ref) || !forChildren) edgeTo.set(ref, forChildren ? 'for-children' : 'member');
      } else if (n.inScope && !forChildren) own.push(n.type);
      else elsewhere.push(forChildren ? `${l}=${n.type}#${n.id}` : `${n.type}#${n.id}`);
    }
    for (const [ref, kind] of edgeTo) edges.push({ from: id, to: nodeId(ref), kind });
    const who = [...g.procs.map((p) => `${p.pid} ${shownText(p.comm)}`), ...g.threads.map((t) => `thread ${t.tid} of ${t.pid}`)];
    const head = g.procs.length ? (g.procs.length === 1 ? 'process' : plural(g.procs.length, 'process')) : plural(g.threads.length, 'thread');
    const lines = [
      head,
      ...wrap(`${who.slice(0, 4).join(', ')}${who.length > 4 ? ` and ${who.length - 4} more` : ''}`),
      ...(elsewhere.length ? wrap(`also in ${elsewhere.join(' ')}`) : []),
      ...(own.length ? wrap(`and the dumper's own ${own.join(' ')}`) : []),
    ];
    const changed = opts.marks && [...g.procs.map((p) => p.pid), ...g.threads.map((t) => t.pid)].some((p) => opts.marks!.pids.has(p));
    box.nodes.push({ id, lines, kind: 'procs', mark: changed ? 'changed' : 'plain' });
  }

  const tops = [...boxes.values()].filter((b) => scope.boxes.includes(b));
  scope.lines = scopeLines(img, tops.map((b) => byId.get(b.nsId!)!));
  const all: PicBox[] = [scope];
  if (opts.marks?.missing.length) {
    all.push({
      id: 'cluster_only_in_first',
      lines: ['only in the first image'],
      kind: 'missing',
      mark: 'missing',
      boxes: [],
      nodes: opts.marks.missing.map((m) => ({ id: `first_${nodeId(m.ns.id)}`, lines: m.lines, kind: 'ns' as const, mark: 'missing' as const })),
    });
  }
  const title = opts.title ?? titleOf(img);
  const legend = [
    'boxes: user namespaces, nested by parent, each holding the namespaces it owns and the processes in it',
    'blue arrows: pid namespace parent → child; grey arrows: the namespaces a process group is in (dashed: for its children)',
    'bold blue: the dumper\'s own namespaces; grey dashed: shown only to place what was selected',
    ...(opts.marks ? ['orange: changed; green: only in the second image; red: only in the first', ...opts.marks.notes.slice(0, 20), ...(opts.marks.notes.length > 20 ? [`and ${opts.marks.notes.length - 20} more differences`] : [])] : []),
  ];
  return { title, legend, boxes: all, edges };
}

function titleOf(img: Image): string {
  const inv = img.inventory;
  return `nsdump image: root pid ${inv.rootPid}, dumped on ${inv.hostname} (kernel ${inv.kernelRelease}) ${new Date(inv.time).toISOString()}`;
}

/** The scope box's label; `top`: the topmost user namespaces drawn. */
function scopeLines(img: Image, top: Namespace[]): string[] {
  const own = img.namespaces.find((n) => n.type === 'user' && n.inScope);
  return [
    `the dumper's scope: ${own ? `its user namespace user#${own.id}` : 'its namespaces'} and all below it`,
    ...(top.some((n) => n.parentBeyondScope && !n.initial) ? ['(the parent of the topmost user namespace lies beyond it)'] : []),
  ];
}

/**
 * The parent view (`show --tree parent`, lsns -T parent): user namespaces and pid namespaces as
 * two trees of parent → child arrows. They are drawn as arrows, not nested boxes, because the two
 * hierarchies are independent and every process sits in one node of each: boxes could follow only
 * one of them. Each process group points at its user and pid namespaces (dashed: a different pid
 * namespace for its children); the other types nest in nothing, so they sit in one box of their
 * own and each group's label names those it is in — no edge per membership, so no spaghetti.
 */
export function buildParentPicture(img: Image, opts: Filter = {}): Picture {
  const sel = select(img, opts);
  const byId = new Map(img.namespaces.map((n) => [n.id, n]));
  const drawn = (id: number | null): id is number => id !== null && (sel.shown.has(id) || sel.context.has(id));
  const reference = referenceIpc(img);
  const markOf = (n: Namespace): Mark => (sel.context.has(n.id) ? 'context' : n.inScope ? 'own' : 'plain');
  const scope: PicBox = { id: 'cluster_scope', lines: [], kind: 'scope', mark: 'plain', nodes: [], boxes: [] };
  const flat: PicBox = { id: 'cluster_not_nested', lines: ['not nested by parent: mnt, net, ipc, uts, cgroup, time'], kind: 'flat', mark: 'plain', nodes: [], boxes: [] };
  const edges: PicEdge[] = [];
  for (const n of img.namespaces) {
    if (!drawn(n.id)) continue;
    const node: PicNode = { id: nodeId(n.id), lines: sel.context.has(n.id) ? [named(n)] : nsLines(n, img, reference), kind: 'ns', mark: markOf(n), nsId: n.id };
    if (n.type !== 'user' && n.type !== 'pid') {
      flat.nodes.push(node);
      continue;
    }
    scope.nodes.push(node);
    if (drawn(n.parent)) edges.push({ from: nodeId(n.parent), to: node.id, kind: 'parent' });
  }
  if (flat.nodes.length) scope.boxes.push(flat);

  const groups = groupProcesses(img, sel);
  let gi = 0;
  for (const g of groups.values()) {
    const id = `set${++gi}`;
    const also: string[] = [];
    for (const l of sel.links) {
      const ref = g.refs[l];
      const forChildren = l === 'pid_for_children' || l === 'time_for_children';
      if (forChildren && ref === (l === 'pid_for_children' ? g.refs.pid : g.refs.time)) continue;
      if (ref === null) also.push(`${l}=none`);
      else if ((l === 'user' || l === 'pid' || l === 'pid_for_children') && drawn(ref)) edges.push({ from: id, to: nodeId(ref), kind: l === 'pid_for_children' ? 'for-children' : 'member' });
      else also.push(forChildren ? `${l}=${byId.get(ref)!.type}#${ref}` : `${byId.get(ref)!.type}#${ref}`);
    }
    const who = [...g.procs.map((p) => `${p.pid} ${shownText(p.comm)}`), ...g.threads.map((t) => `thread ${t.tid} of ${t.pid}`)];
    const head = g.procs.length ? (g.procs.length === 1 ? 'process' : plural(g.procs.length, 'process')) : plural(g.threads.length, 'thread');
    const lines = [head, ...wrap(`${who.slice(0, 4).join(', ')}${who.length > 4 ? ` and ${who.length - 4} more` : ''}`), ...(also.length ? wrap(`in ${also.join(' ')}`) : [])];
    scope.nodes.push({ id, lines, kind: 'procs', mark: 'plain' });
  }
  scope.lines = scopeLines(img, img.namespaces.filter((n) => n.type === 'user' && drawn(n.id) && !drawn(n.parent)));
  const legend = [
    'blue arrows: user and pid namespaces, parent → child (lsns -T parent)',
    'grey arrows: the user and pid namespace of a process group (dashed: the pid namespace for its children)',
    'the other types nest in nothing: they sit in their own box, and each group names those it is in',
    'bold blue: the dumper\'s own namespaces; grey dashed: shown only to place what was selected',
  ];
  return { title: titleOf(img), legend, boxes: [scope], edges };
}

/** Every namespace drawn, as node or box: for tests and for callers that check a picture is whole. */
export function drawnNamespaces(p: Picture): number[] {
  const out: number[] = [];
  const walk = (b: PicBox) => {
    if (b.nsId !== undefined) out.push(b.nsId);
    for (const n of b.nodes) if (n.nsId !== undefined) out.push(n.nsId);
    b.boxes.forEach(walk);
  };
  p.boxes.forEach(walk);
  return out;
}
