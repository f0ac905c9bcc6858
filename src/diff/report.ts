// Why: a verdict of "different" is only useful with what differs, said so that a person can find
// it on both sides (image id, kernel inode, a pid) and a script can read it (the `first` and
// `second` fields). Messages follow a pairing of the two graphs' vertices; the verdict never does.
import type { Namespace, NsRefs } from '../model/image.js';
import { quotedText } from '../model/kernel-text.js';
import { NS_LINKS, NS_TYPES, type NsLink, type NsType } from '../model/species.js';
import type { Graph, NsSet } from './graph.js';
import { bindMountChange, bindMounts, restorableState, stateChange } from './state.js';

/** One side of a difference: a namespace, or a namespace set and who uses it. */
export interface Site {
  /** The namespace's image id, type and kernel inode. */
  id?: number;
  type?: NsType;
  inode?: number;
  /** A process in the namespace, or the first process using the set (its pid as the dumper saw it). */
  pid?: number;
  /** When the set is used only by a thread: its tid. */
  tid?: number;
  /** The set's namespace for each link: 'own' for the dumper's own, null for none. */
  set?: Record<NsLink, { id: number; type: NsType; inode: number } | 'own' | null>;
}

export interface Difference {
  kind: 'state' | 'bind-mounts' | 'namespace-missing' | 'namespace-extra' | 'set-changed' | 'set-missing' | 'set-extra' | 'graph' | 'undecided';
  message: string;
  first?: Site;
  second?: Site;
}

/** A readable name: "uts ns owned by a user ns at level 2 (hostname "a")". */
export function describe(n: Namespace, ids: Map<number, Namespace>): string {
  if (n.inScope) return `the dumper's own ${n.type} ns`;
  let depth = 0;
  for (let u = n.type === 'user' ? n : n.owner === null ? undefined : ids.get(n.owner); u && !u.inScope; u = u.parent === null ? undefined : ids.get(u.parent)) depth++;
  const where = n.type === 'user' ? `user ns at level ${depth}` : `${n.type} ns owned by a user ns at level ${depth}`;
  if (n.type === 'uts' && n.state) return `${where} (hostname ${quotedText(n.state.hostname)})`;
  return where;
}

/** "uts#12 [4026532301]": the image id and the kernel inode. */
const named = (n: Namespace) => `${n.type}#${n.id} [${n.inode}]`;

function nsSite(g: Graph, n: Namespace): Site {
  const pid = g.pidIn.get(n.id);
  return { id: n.id, type: n.type, inode: n.inode, ...(pid === undefined ? {} : { pid }) };
}

function setSite(g: Graph, s: NsSet): Site {
  const set = Object.fromEntries(
    NS_LINKS.map((l) => {
      const n = s.refs[l] === null ? undefined : g.ids.get(s.refs[l]!);
      return [l, n === undefined ? null : n.inScope ? 'own' : { id: n.id, type: n.type, inode: n.inode }];
    }),
  ) as Site['set'];
  return { pid: s.pid, ...(s.tid === undefined ? {} : { tid: s.tid }), set };
}

const user = (s: NsSet) => `pid ${s.pid}${s.tid === undefined ? '' : ` thread ${s.tid}`}`;

/** What a link leads to, for a message: "pid#4 [4026532460]", "the dumper's own", "none". */
function target(g: Graph, id: number | null): string {
  if (id === null) return 'none';
  const n = g.ids.get(id)!;
  return n.inScope ? "the dumper's own" : named(n);
}

/** A set by the namespaces it would create or join ("user#9 […], uts#11 […], pid_for_children=none"); the dumper's own are left out. */
function setLabel(g: Graph, refs: NsRefs): string {
  return NS_LINKS.flatMap((l) => {
    const id = refs[l];
    if (id === null) return [`${l}=none`];
    const n = g.ids.get(id)!;
    if (n.inScope) return [];
    return [n.type === l ? named(n) : `${l}=${named(n)}`];
  }).join(', ');
}

/**
 * The differences a pairing shows (first-graph vertex → second-graph vertex): state and bind
 * mounts of paired namespaces, unpaired namespaces, then sets that changed or are in use on one side.
 */
export function differences(g1: Graph, g2: Graph, pairs: Map<number, number>): Difference[] {
  const out: Difference[] = [];
  g1.ns.forEach((n, v) => {
    const w = pairs.get(v);
    if (w === undefined) return;
    const m = g2.ns[w]!;
    const pair = (kind: Difference['kind'], what: string): Difference => ({ kind, message: `${named(n)} (first) ~ ${named(m)} (second): ${what}`, first: nsSite(g1, n), second: nsSite(g2, m) });
    const change = [stateChange(restorableState(n, g1.ids), restorableState(m, g2.ids)), ...pairingChanges(g1, g2, n, m, pairs)].filter(Boolean).join(', ');
    if (change) out.push(pair('state', change));
    const binds = bindMountChange(bindMounts(n), bindMounts(m));
    if (binds) out.push(pair('bind-mounts', binds));
  });
  const paired2 = new Set(pairs.values());
  const alone = (g: Graph, n: Namespace, which: 'first' | 'second'): Difference => {
    const pid = g.pidIn.get(n.id);
    const message = `only in the ${which}: ${named(n)}${pid === undefined ? '' : ` (pid ${pid})`}, ${describe(n, g.ids)}`;
    return { kind: which === 'first' ? 'namespace-missing' : 'namespace-extra', message, [which]: nsSite(g, n) };
  };
  g1.ns.forEach((n, v) => pairs.has(v) || out.push(alone(g1, n, 'first')));
  g2.ns.forEach((m, w) => paired2.has(w) || out.push(alone(g2, m, 'second')));
  out.push(...setDifferences(g1, g2, pairs));
  return out;
}

/**
 * Links of two paired network namespaces whose other ends lie in namespaces that are not each
 * other's partners: "link eth0: other end in net#5 [...] → net#7 [...] (counterpart of net#6 [...])".
 */
function pairingChanges(g1: Graph, g2: Graph, n: Namespace, m: Namespace, pairs: Map<number, number>): string[] {
  if (n.type !== 'net') return [];
  const out: string[] = [];
  const others = new Map(g2.links.filter((l) => l.ns === m.id).map((l) => [l.name, l]));
  const back = new Map([...pairs].map(([v, w]) => [w, v]));
  for (const l of g1.links) {
    if (l.ns !== n.id) continue;
    const k = others.get(l.name);
    if (!k || pairs.get(g1.vertexOf.get(l.peerNs)!) === g2.vertexOf.get(k.peerNs)) continue;
    const partner = back.get(g2.vertexOf.get(k.peerNs)!);
    const was = partner === undefined ? ' (only in the second)' : ` (counterpart of ${named(g1.ns[partner]!)})`;
    out.push(`link ${l.name}: other end in ${named(g1.ids.get(l.peerNs)!)} → ${named(g2.ids.get(k.peerNs)!)}${was}`);
  }
  return out;
}

/** Sets by the pairing, then the sets left over paired by fewer and fewer of their links. */
function setDifferences(g1: Graph, g2: Graph, pairs: Map<number, number>): Difference[] {
  const back = new Map([...pairs].map(([v, w]) => [w, v]));
  // A link's target in first-graph terms: a second-graph namespace through its partner.
  const key1 = (id: number | null) => (id === null ? '-' : g1.ids.get(id)!.inScope ? 'own' : `a${g1.vertexOf.get(id)}`);
  const key2 = (id: number | null) => {
    if (id === null) return '-';
    if (g2.ids.get(id)!.inScope) return 'own';
    const v = back.get(g2.vertexOf.get(id)!);
    return v === undefined ? `b${id}` : `a${v}`;
  };
  // Which first-image namespace a second-image one stands for: the same id may mean another.
  const counterpart = (id: number | null) => {
    if (id === null || g2.ids.get(id)!.inScope) return '';
    const v = back.get(g2.vertexOf.get(id)!);
    if (v === undefined) return ' (only in the second)';
    const [n, m] = [g1.ns[v]!, g2.ids.get(id)!];
    return n.id === m.id && n.inode === m.inode ? '' : ` (counterpart of ${named(n)})`;
  };
  const [n1, n2] = [g1.ns.length, g2.ns.length];
  const setPairs: [number, number][] = [];
  let left1: number[] = [];
  const taken = new Set<number>();
  g1.sets.forEach((_, i) => {
    const w = pairs.get(n1 + i);
    if (w === undefined) left1.push(i);
    else {
      setPairs.push([i, w - n2]);
      taken.add(w - n2);
    }
  });
  let left2 = g2.sets.map((_, j) => j).filter((j) => !taken.has(j));
  const passes: readonly (readonly NsLink[])[] = [NS_TYPES, ['user', 'pid'], ['user']];
  for (const links of passes) {
    // Candidates stacked last first, so each key's first set pairs first.
    const pool = new Map<string, number[]>();
    for (const j of [...left2].reverse()) {
      const k = links.map((l) => key2(g2.sets[j]!.refs[l])).join('|');
      const list = pool.get(k);
      if (list) list.push(j);
      else pool.set(k, [j]);
    }
    const rest: number[] = [];
    for (const i of left1) {
      const j = pool.get(links.map((l) => key1(g1.sets[i]!.refs[l])).join('|'))?.pop();
      if (j === undefined) rest.push(i);
      else setPairs.push([i, j]);
    }
    left1 = rest;
    left2 = [...pool.values()].flat().sort((a, b) => a - b);
  }
  const out: Difference[] = [];
  for (const [i, j] of setPairs.sort((x, y) => x[0] - y[0])) {
    const [s, t] = [g1.sets[i]!, g2.sets[j]!];
    const changed = NS_LINKS.filter((l) => key1(s.refs[l]) !== key2(t.refs[l])).map((l) => `${l} ${target(g1, s.refs[l])} → ${target(g2, t.refs[l])}${counterpart(t.refs[l])}`);
    if (changed.length) out.push({ kind: 'set-changed', message: `the namespace set of ${user(s)} (first) ~ of ${user(t)} (second): ${changed.join('; ')}`, first: setSite(g1, s), second: setSite(g2, t) });
  }
  for (const i of left1) out.push({ kind: 'set-missing', message: `a namespace set in use only in the first: ${setLabel(g1, g1.sets[i]!.refs)} (${user(g1.sets[i]!)})`, first: setSite(g1, g1.sets[i]!) });
  for (const j of left2) out.push({ kind: 'set-extra', message: `a namespace set in use only in the second: ${setLabel(g2, g2.sets[j]!.refs)} (${user(g2.sets[j]!)})`, second: setSite(g2, g2.sets[j]!) });
  return out;
}
