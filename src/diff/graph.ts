// Why: `diff` decides whether two graphs are isomorphic, not two images; this builds the graph of
// one image — the namespaces it would create and the namespace sets in use as vertices, owner,
// parent and link edges between them — and gives each vertex the colour it has on its own. A link
// whose other end (a veth's peer, a vlan's parent) lies in another created network namespace is a
// vertex too, with edges to both namespaces: which namespace a pair joins is structure, and two
// images that pair the same names differently are not the same network.
import { netStateOf, type Image, type Namespace, type NsRefs } from '../model/image.js';
import { NS_LINKS } from '../model/species.js';
import { bindMounts, canonical, restorableState } from './state.js';

/** Edge labels. A vertex has at most one out-edge per label, which keeps every check a lookup. */
export const LABELS = ['owner', 'parent', ...NS_LINKS, 'link-in', 'link-peer'] as const;
const OWNER = 0;
const PARENT = 1;
const LINK0 = 2;
const LINK_IN = LABELS.indexOf('link-in');
const LINK_PEER = LABELS.indexOf('link-peer');

/** A link whose other end lies in another created network namespace: a vertex after the sets. */
export interface CrossLink {
  /** Image ids of the namespace the link is in and of the one its other end is in. */
  ns: number;
  peerNs: number;
  name: string;
}

/** A namespace set in use: the ten links of some process (or thread), and the first one using it. */
export interface NsSet {
  refs: NsRefs;
  pid: number;
  tid?: number;
}

export interface Graph {
  img: Image;
  ids: Map<number, Namespace>;
  /** Vertices 0 … ns.length-1 are the created namespaces in image order; the sets follow, then the cross links. */
  ns: Namespace[];
  sets: NsSet[];
  links: CrossLink[];
  size: number;
  /** Image id → vertex, for created namespaces. */
  vertexOf: Map<number, number>;
  /** out[label][v]: where v's edge with that label points, or -1. */
  out: Int32Array[];
  /** Colour with state and bind mounts: what an isomorphism must preserve. */
  full: string[];
  /** Colour without them: where a namespace sits, to pair namespaces whose state changed. */
  shape: string[];
  /** Image id → a process (a thread's tid where only a thread is inside) living in it. */
  pidIn: Map<number, number>;
}

/**
 * How a reference looks from the vertex holding it when it is no edge: the dumper's own
 * namespaces stand for whatever the executor has and compare by type only; '*' is an edge.
 */
function mark(ids: Map<number, Namespace>, id: number | null): string {
  if (id === null) return '-';
  const n = ids.get(id);
  if (!n) return '?';
  return n.inScope ? `own:${n.type}` : '*';
}

/**
 * Distinct link tuples of processes and threads, first user first. The set made only of the
 * dumper's own namespaces is left out: whoever dumps or restores lives there (a restore's own
 * processes always do), and it has nothing to create or join.
 */
function setsInUse(img: Image, ids: Map<number, Namespace>): NsSet[] {
  const seen = new Map<string, NsSet>();
  const users = [...img.processes.map((p) => ({ refs: p.namespaces, pid: p.pid })), ...img.threads.map((t) => ({ refs: t.namespaces, pid: t.pid, tid: t.tid }))];
  for (const u of users) {
    if (NS_LINKS.every((l) => mark(ids, u.refs[l]) !== '*')) continue;
    const key = NS_LINKS.map((l) => u.refs[l] ?? '-').join(',');
    if (!seen.has(key)) seen.set(key, u);
  }
  return [...seen.values()];
}

function firstPidIn(img: Image): Map<number, number> {
  const pidIn = new Map<number, number>();
  const users = [...img.processes.map((p) => ({ refs: p.namespaces, pid: p.pid })), ...img.threads.map((t) => ({ refs: t.namespaces, pid: t.tid }))];
  for (const u of users) for (const l of NS_LINKS) if (u.refs[l] !== null && !pidIn.has(u.refs[l]!)) pidIn.set(u.refs[l]!, u.pid);
  return pidIn;
}

/** Links of created network namespaces whose other end is in another created one, by namespace then name. */
function crossLinks(ns: Namespace[]): { link: CrossLink; peerName: string }[] {
  const created = new Map(ns.map((n) => [n.id, n]));
  const out: { link: CrossLink; peerName: string }[] = [];
  for (const n of ns) {
    if (n.type !== 'net' || !n.state) continue;
    for (const l of [...n.state.interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (!l.link || l.linkOutside || l.linkNetns === null || l.linkNetns === n.id) continue;
      const other = created.get(l.linkNetns);
      if (!other) continue;
      const peer = netStateOf(other)?.interfaces.find((p) => p.index === l.link);
      out.push({ link: { ns: n.id, peerNs: other.id, name: l.name }, peerName: peer?.name ?? `ifindex ${l.link}` });
    }
  }
  return out;
}

export function buildGraph(img: Image): Graph {
  const ids = new Map(img.namespaces.map((n) => [n.id, n]));
  const ns = img.namespaces.filter((n) => !n.inScope);
  const sets = setsInUse(img, ids);
  const cross = crossLinks(ns);
  const size = ns.length + sets.length + cross.length;
  const vertexOf = new Map(ns.map((n, v) => [n.id, v]));
  const out = LABELS.map(() => new Int32Array(size).fill(-1));
  const full: string[] = [];
  const shape: string[] = [];
  const edge = (label: number, from: number, id: number | null) => {
    const to = id === null ? undefined : vertexOf.get(id);
    if (to !== undefined) out[label]![from] = to;
  };
  ns.forEach((n, v) => {
    // A user namespace's owner is its parent: one edge says it.
    const owner = n.type === 'user' ? 'n/a' : mark(ids, n.owner);
    const parent = mark(ids, n.parent);
    if (n.type !== 'user') edge(OWNER, v, n.owner);
    edge(PARENT, v, n.parent);
    shape.push(JSON.stringify(['ns', n.type, owner, parent]));
    full.push(JSON.stringify(['ns', n.type, owner, parent, canonical(restorableState(n, ids)), bindMounts(n)]));
  });
  sets.forEach((s, i) => {
    const v = ns.length + i;
    NS_LINKS.forEach((l, k) => edge(LINK0 + k, v, s.refs[l]));
    const colour = JSON.stringify(['set', ...NS_LINKS.map((l) => mark(ids, s.refs[l]))]);
    shape.push(colour);
    full.push(colour);
  });
  cross.forEach(({ link, peerName }, i) => {
    const v = ns.length + sets.length + i;
    edge(LINK_IN, v, link.ns);
    edge(LINK_PEER, v, link.peerNs);
    // Names are unique in a namespace: with both namespaces as edges they pin the pairing down.
    const colour = JSON.stringify(['link', link.name, peerName]);
    shape.push(colour);
    full.push(colour);
  });
  return { img, ids, ns, sets, links: cross.map((c) => c.link), size, vertexOf, out, full, shape, pidIn: firstPidIn(img) };
}
