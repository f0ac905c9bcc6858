// `nsdump diff` as a proof: isomorphism decided exactly on synthetic images (built through the zod
// schemas), messages that name ids, inodes and pids, and "undecided" when the time bound is hit.
import test from 'ava';
import { compareImages, diffImages } from '../../src/diff/compare.js';
import { Image, type Namespace, type NsRefs } from '../../src/model/image.js';
import { NS_LINKS, NS_TYPES, type NsType } from '../../src/model/species.js';

/** The dumper's own namespaces: image ids 1 … 8, in NS_TYPES order. */
const OWN = Object.fromEntries(NS_TYPES.map((t, i) => [t, i + 1])) as Record<NsType, number>;
const GROUP_TYPES = ['user', 'uts', 'ipc', 'net', 'pid', 'mnt', 'time'] as const;

const STATES: Record<NsType, (hostname: string) => unknown> = {
  user: () => ({ uidMap: [{ inside: 0, outside: 100000, count: 65536 }], gidMap: [{ inside: 0, outside: 100000, count: 65536 }], projidMap: [], setgroups: 'deny', ownerUid: 0, level: 1 }),
  pid: () => ({ level: 1 }),
  mnt: () => ({ mountCount: 1, mounts: [] }),
  net: () => ({ interfaces: [], routes: [], sysctls: {} }),
  ipc: () => ({ sysctls: { 'kernel.msgmax': '8192' } }),
  uts: (hostname) => ({ hostname, domainname: '(none)' }),
  cgroup: () => ({ root: '/', insidePath: '/' }),
  time: () => ({ monotonic: { seconds: 5, nanoseconds: 0 }, boottime: { seconds: 0, nanoseconds: 0 } }),
};

interface Spec {
  type: NsType;
  owner: number | null;
  parent: number | null;
  hostname?: string;
  binds?: string[];
}

/** An image from namespace specs (ids 9, 10, … in order) and the link tuples of its processes. */
function image(specs: Spec[], sets: NsRefs[], inodeBase: number, pidBase: number): Image {
  const own = NS_TYPES.map((type, i) => ns(i + 1, type, 4026531830 + i, { type, owner: null, parent: null }, true));
  const created = specs.map((s, i) => ns(i + 9, s.type, inodeBase + i, s, false));
  const processes = sets.map((namespaces, i) => ({ pid: pidBase + i, ppid: 1, comm: 'sh', nspid: [pidBase + i], namespaces }));
  return Image.parse({
    inventory: { formatVersion: 1, nsdumpVersion: '0.1.0', kernelRelease: '6.18.0', features: { nsGetId: true, pidfdNamespaces: true, pidfdSetns: true, mntNsInfo: true, pidnsTranslate: true }, scope: NS_TYPES.map((type, i) => ({ type, inode: 4026531830 + i, nsId: null, id: i + 1 })), rootPid: pidBase, time: 0, hostname: 'test' },
    namespaces: [...own, ...created],
    processes,
    threads: [],
  });
}

function ns(id: number, type: NsType, inode: number, s: Spec, inScope: boolean): Namespace {
  const holders = (s.binds ?? []).map((path) => ({ kind: 'bind' as const, pid: 1, path }));
  return { id, type, inode, device: 4, nsId: null, owner: s.owner, parent: s.parent, ownerBeyondScope: inScope, parentBeyondScope: inScope, inScope, initial: inScope, holders, state: STATES[type](s.hostname ?? 'g'), stateNote: '' } as Namespace;
}

/** The links of a process living in the group's namespaces (own ones for the rest). */
function refsOf(group: Record<string, number>): NsRefs {
  const r = Object.fromEntries(NS_LINKS.map((l) => [l, OWN[l === 'pid_for_children' ? 'pid' : l === 'time_for_children' ? 'time' : l]])) as NsRefs;
  for (const [t, id] of Object.entries(group)) r[t as NsType] = id;
  r.pid_for_children = r.pid;
  r.time_for_children = r.time;
  return r;
}

interface Groups {
  count: number;
  /** Emit each type's namespaces in reverse group order (ids then pair up across groups by order). */
  reversed?: NsType[];
  /** All groups' user namespaces children of one created user namespace: one big component. */
  nested?: boolean;
  hostname?: (group: number) => string;
  binds?: (group: number) => string[];
  inodeBase?: number;
  pidBase?: number;
  /** Change the links of group `g`'s process. */
  links?: (group: number, refs: NsRefs) => NsRefs;
}

/** `count` groups of user+uts+ipc+net+pid+mnt+time namespaces, one process in each. */
function groups(o: Groups): Image {
  const specs: Spec[] = [];
  const ids: Record<string, number>[] = Array.from({ length: o.count }, () => ({}));
  const root = o.nested ? 9 : null;
  if (o.nested) specs.push({ type: 'user', owner: OWN.user, parent: OWN.user });
  for (const type of GROUP_TYPES) {
    const order = Array.from({ length: o.count }, (_, g) => g);
    if (o.reversed?.includes(type)) order.reverse();
    for (const g of order) {
      ids[g]![type] = 9 + specs.length;
      const user = ids[g]!.user!;
      if (type === 'user') specs.push({ type, owner: root ?? OWN.user, parent: root ?? OWN.user });
      else specs.push({ type, owner: user, parent: type === 'pid' ? OWN.pid : null, hostname: o.hostname?.(g) ?? 'g', binds: type === 'net' ? (o.binds?.(g) ?? []) : [] });
    }
  }
  const sets = ids.map((group, g) => (o.links ?? ((_, r) => r))(g, refsOf(group)));
  return image(specs, sets, o.inodeBase ?? 4026532000, o.pidBase ?? 1000);
}

test('identical groups listed in another order are equivalent (greedy pairing mixed the groups up)', (t) => {
  const a = groups({ count: 10 });
  const b = groups({ count: 10, reversed: ['uts', 'net', 'time'], inodeBase: 4026540000, pidBase: 5000 });
  const r = diffImages(a, b);
  t.is(r.verdict, 'equivalent', JSON.stringify(r.differences));
  t.is(r.namespaces, 70);
  t.is(r.sets, 10);
  t.deepEqual(compareImages(a, b), []);
});

test('one big symmetric component (groups under one created user ns) is equivalent without branching', (t) => {
  const a = groups({ count: 50, nested: true });
  const b = groups({ count: 50, nested: true, reversed: ['user', 'ipc', 'pid'], inodeBase: 4026540000 });
  const r = diffImages(a, b);
  t.is(r.verdict, 'equivalent', JSON.stringify(r.differences));
  t.is(r.searchNodes, 0);
});

/**
 * `count` meshes under one created user ns: two sibling user ns, a uts ns owned by each, and a
 * process in each of the four (user, uts) combinations. Nothing tells the two halves of a mesh
 * apart until one is fixed: only the search can.
 */
function meshes(count: number, o: { hostname?: (mesh: number) => string; inodeBase?: number; swapped?: boolean } = {}): Image {
  const specs: Spec[] = [{ type: 'user', owner: OWN.user, parent: OWN.user }];
  const sets: NsRefs[] = [];
  for (let m = 0; m < count; m++) {
    const [u1, u2, a, b] = [10, 11, 12, 13].map((k) => k + 4 * m);
    specs.push({ type: 'user', owner: 9, parent: 9 }, { type: 'user', owner: 9, parent: 9 });
    // Listed the other way round in some images: the ids then pair up across halves.
    const [oa, ob] = o.swapped && m % 2 ? [u2!, u1!] : [u1!, u2!];
    specs.push({ type: 'uts', owner: oa, parent: null, hostname: o.hostname?.(m) ?? 'g' }, { type: 'uts', owner: ob, parent: null });
    for (const user of [u1!, u2!]) for (const uts of [a!, b!]) sets.push(refsOf({ user, uts }));
  }
  return image(specs, sets, o.inodeBase ?? 4026532000, 1000);
}

test('parts that refinement cannot split need the search; it branches about once per part', (t) => {
  const r = diffImages(meshes(40), meshes(40, { swapped: true, inodeBase: 4026540000 }));
  t.is(r.verdict, 'equivalent', JSON.stringify(r.differences));
  t.is(r.namespaces, 40 * 4 + 1);
  t.true(r.searchNodes >= 40 && r.searchNodes <= 160, `${r.searchNodes} search nodes`);
  const changed = diffImages(meshes(40), meshes(40, { hostname: (m) => (m === 9 ? 'changed' : 'g') }));
  t.is(changed.verdict, 'different');
  t.deepEqual(
    changed.differences.map((d) => d.kind),
    ['state'],
  );
});

test('a swapped set membership: every namespace alike, but processes sit with another group\'s ipc ns', (t) => {
  // First: each process in its user ns and the ipc ns that user ns owns. Second: the ipc ns are
  // owned crosswise. Pairing by signatures and image order sees no difference; there is one.
  const specs = (crossed: boolean): Spec[] => [
    { type: 'user', owner: OWN.user, parent: OWN.user },
    { type: 'user', owner: OWN.user, parent: OWN.user },
    { type: 'ipc', owner: crossed ? 10 : 9, parent: null },
    { type: 'ipc', owner: crossed ? 9 : 10, parent: null },
  ];
  const sets = [refsOf({ user: 9, ipc: 11 }), refsOf({ user: 10, ipc: 12 })];
  const a = image(specs(false), sets, 4026532000, 100);
  const b = image(specs(true), sets, 4026533000, 200);
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  t.true(r.differences.length > 0);
  for (const d of r.differences) t.regex(d.message, /#\d+ \[\d+\]/);
  t.true(r.differences.some((d) => d.kind === 'set-changed' && /^the namespace set of pid 10\d \(first\) ~ of pid 20\d \(second\): ipc ipc#\d+ \[\d+\] → ipc#\d+ \[\d+\] \(counterpart of ipc#\d+ \[\d+\]\)$/.test(d.message)), JSON.stringify(r.differences));
  t.is(diffImages(a, a).verdict, 'equivalent');
  t.is(diffImages(b, b).verdict, 'equivalent');
});

test('a hostname changed in one of many identical groups reads as one state change, naming both sides', (t) => {
  const a = groups({ count: 12 });
  const b = groups({ count: 12, hostname: (g) => (g === 7 ? 'changed' : 'g'), inodeBase: 4026540000, pidBase: 5000 });
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  t.is(r.differences.length, 1, JSON.stringify(r.differences));
  const [d] = r.differences;
  t.is(d!.kind, 'state');
  const uts = b.namespaces.find((n) => n.type === 'uts' && (n.state as { hostname: string }).hostname === 'changed')!;
  t.is(d!.second?.id, uts.id);
  t.is(d!.second?.inode, uts.inode);
  t.is(d!.second?.pid, 5007);
  const first = a.namespaces.find((n) => n.id === d!.first?.id)!;
  t.is(d!.message, `uts#${first.id} [${first.inode}] (first) ~ uts#${uts.id} [${uts.inode}] (second): hostname "g" → "changed"`);
});

test('the same hostname change inside one big component is still one state change', (t) => {
  const a = groups({ count: 30, nested: true });
  const b = groups({ count: 30, nested: true, hostname: (g) => (g === 3 ? 'changed' : 'g'), reversed: ['uts'] });
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  t.deepEqual(
    r.differences.map((d) => d.kind),
    ['state'],
  );
  t.regex(r.differences[0]!.message, /^uts#\d+ \[\d+\] \(first\) ~ uts#\d+ \[\d+\] \(second\): hostname "g" → "changed"$/);
});

test('pid_for_children and time_for_children count', (t) => {
  const a = groups({ count: 4 });
  const b = groups({ count: 4, pidBase: 5000, links: (g, r) => (g === 2 ? { ...r, time_for_children: OWN.time } : r) });
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  t.is(r.differences.length, 1, JSON.stringify(r.differences));
  const d = r.differences[0]!;
  t.is(d.kind, 'set-changed');
  t.regex(d.message, /^the namespace set of pid 100\d \(first\) ~ of pid 5002 \(second\): time_for_children time#\d+ \[\d+\] → the dumper's own$/);
  t.regex(String(d.first?.pid), /^100\d$/);
  t.is(d.second?.set?.time_for_children, 'own');
  const before = d.first?.set?.time_for_children;
  t.true(typeof before === 'object' && before !== null && d.message.includes(`time#${before.id} [${before.inode}]`));
});

test('bind mounts count by path; fd holders do not', (t) => {
  const a = groups({ count: 5, binds: (g) => [`/run/netns/g${g}`] });
  const b = groups({ count: 5, binds: (g) => [g === 4 ? '/run/netns/other' : `/run/netns/g${g}`], inodeBase: 4026540000 });
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  t.is(r.differences.length, 1, JSON.stringify(r.differences));
  t.is(r.differences[0]!.kind, 'bind-mounts');
  t.regex(r.differences[0]!.message, /^net#\d+ \[\d+\] \(first\) ~ net#\d+ \[\d+\] \(second\): bind mounts "\/run\/netns\/g4" → "\/run\/netns\/other"$/);
  const withFd = structuredClone(a);
  withFd.namespaces.find((n) => n.type === 'net' && !n.inScope)!.holders.push({ kind: 'fd', pid: 77, fd: 5 });
  t.is(diffImages(a, withFd).verdict, 'equivalent');
});

test('namespaces and sets only on one side are named with id, inode and pid', (t) => {
  const a = groups({ count: 3 });
  const b = groups({ count: 2, pidBase: 5000 });
  const r = diffImages(a, b);
  t.is(r.verdict, 'different');
  const kinds = r.differences.map((d) => d.kind);
  t.is(kinds.filter((k) => k === 'namespace-missing').length, 7);
  t.is(kinds.filter((k) => k === 'set-missing').length, 1);
  t.true(r.differences.every((d) => d.first !== undefined && d.second === undefined));
  t.regex(r.differences.find((d) => d.kind === 'set-missing')!.message, /^a namespace set in use only in the first: user#\d+ \[\d+\], .*uts#\d+ \[\d+\].* \(pid 100\d\)$/);
  t.regex(r.differences.find((d) => d.kind === 'namespace-missing')!.message, /^only in the first: user#\d+ \[\d+\] \(pid 100\d\), user ns at level 1$/);
});

test('many groups, two of them crossed: refinement sees no difference, the search does, at once', (t) => {
  // Thirty groups of a user ns and an ipc ns under one created user ns, a process in each pair.
  // In the second image two groups' ipc namespaces are owned crosswise.
  const specs = (crossed: boolean): Spec[] => [
    { type: 'user', owner: OWN.user, parent: OWN.user },
    ...Array.from({ length: 30 }, (): Spec => ({ type: 'user', owner: 9, parent: 9 })),
    ...Array.from({ length: 30 }, (_, g): Spec => ({ type: 'ipc', owner: 10 + (crossed && g < 2 ? 1 - g : g), parent: null })),
  ];
  const sets = Array.from({ length: 30 }, (_, g) => refsOf({ user: 10 + g, ipc: 40 + g }));
  const r = diffImages(image(specs(false), sets, 4026532000, 100), image(specs(true), sets, 4026533000, 200));
  t.is(r.verdict, 'different');
  t.true(r.searchNodes < 10, `${r.searchNodes} search nodes`);
  t.true(r.differences.length > 0);
});

test('undecided when the time bound is reached before the search decides; equivalent within the default', (t) => {
  const a = meshes(300);
  const b = meshes(300, { swapped: true, inodeBase: 4026560000 });
  const bounded = diffImages(a, b, { timeoutMs: 0 });
  t.is(bounded.verdict, 'undecided');
  t.deepEqual(bounded.differences, []);
  t.deepEqual(
    compareImages(a, b, { timeoutMs: 0 }).map((d) => d.kind),
    ['undecided'],
  );
  const unbounded = diffImages(a, b);
  t.is(unbounded.verdict, 'equivalent');
  t.true(unbounded.searchNodes >= 300);
});

/**
 * Four groups told apart by hostname only; each group's net namespace has one veth "eth0" whose
 * other end is eth0 of the group `pairOf` names. Every link reads the same by name and place.
 */
function vethGroups(pairOf: number[], o: Partial<Groups> = {}): Image {
  const img = groups({ count: 4, hostname: (g) => `h${g}`, ...o });
  const netOf = (g: number) => img.processes[g]!.namespaces.net!;
  for (let g = 0; g < 4; g++) {
    const n = img.namespaces.find((x) => x.id === netOf(g))!;
    n.state = {
      interfaces: [{ index: 2, name: 'eth0', kind: 'veth', flags: ['UP'], mtu: 1500, mac: '02:00:00:00:00:01', addresses: [], link: 2, linkNetns: netOf(pairOf[g]!), linkOutside: false, master: 0, vlanId: 0, macvlanMode: '' }],
      routes: [],
      rules: [],
      missingDefaultRules: [],
      sysctls: {},
    };
  }
  return img;
}

test('veth pairings are edges: two images that differ only by which namespaces a same-named pair joins are not equivalent', (t) => {
  const a = vethGroups([1, 0, 3, 2]);
  const swapped = vethGroups([2, 3, 0, 1], { inodeBase: 4026540000 });
  const r = diffImages(a, swapped);
  t.is(r.verdict, 'different');
  // Which difference the messages name follows a best-effort pairing: the moved link ends, or
  // (keeping the pairs) the hostnames of the groups that would have to swap.
  t.true(r.differences.some((d) => /link eth0: other end in net#\d+ \[\d+\] → net#\d+ \[\d+\]|hostname "h\d" → "h\d"/.test(d.message)), JSON.stringify(r.differences));
  // The same pairing, namespaces listed in another order: equivalent.
  const same = vethGroups([1, 0, 3, 2], { reversed: ['net', 'uts'], inodeBase: 4026540000, pidBase: 5000 });
  t.is(diffImages(a, same).verdict, 'equivalent', JSON.stringify(diffImages(a, same).differences));
});

test('policy rules count, in order; a deleted default too', (t) => {
  const rule = (priority: number, table: number) => ({ family: 'inet' as const, priority, action: 'lookup', table, src: '198.51.100.0', srcLen: 24, dst: '', dstLen: 0, tos: 0, invert: false, fwmark: 0, fwmask: 0, iif: '', oif: '', gotoPriority: 0, suppressPrefixlen: -1, suppressIfgroup: -1, protocol: 0, l3mdev: false, uidRange: '', ipProto: 0, sportRange: '', dportRange: '', complex: false });
  const withRules = (rules: ReturnType<typeof rule>[], missing: ReturnType<typeof rule>[] = []) => {
    const img = vethGroups([1, 0, 3, 2]);
    const net = img.namespaces.find((x) => x.id === img.processes[0]!.namespaces.net)!;
    Object.assign(net.state!, { rules, missingDefaultRules: missing });
    return img;
  };
  const a = withRules([rule(100, 100), rule(200, 200)]);
  t.is(diffImages(a, withRules([rule(100, 100), rule(200, 200)])).verdict, 'equivalent');
  const other = diffImages(a, withRules([rule(100, 100), rule(200, 201)]));
  t.is(other.verdict, 'different');
  t.regex(other.differences[0]!.message, /rule -4 200: from 198\.51\.100\.0\/24 lookup 200 proto 0 → none, rule none → -4 200: from 198\.51\.100\.0\/24 lookup 201 proto 0/);
  t.is(diffImages(a, withRules([rule(100, 100), rule(200, 200)], [rule(32767, 253)])).verdict, 'different');
});
