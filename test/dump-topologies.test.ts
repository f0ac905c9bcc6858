// Each topology the dump issue names, made for real with unshare, dumped through the CLI, and
// compared with what the kernel reports through other tools.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { stateOf, type Image, type Namespace } from '../src/model/image.js';
import { assertMatchesKernel, byId, inodeOf, inside, nsPidOf } from './helpers/kernel.js';
import { dumpToJson } from './helpers/cli.js';
import { startTopology } from './helpers/topology.js';

const ofType = (img: Image, type: Namespace['type']) => img.namespaces.filter((n) => n.type === type);
const userState = (n: Namespace) => stateOf(n, 'user');
const proc = (img: Image, pid: number) => img.processes.find((p) => p.pid === pid)!;

test('a chain of nested user namespaces to the kernel limit', async (t) => {
  const topo = await startTopology(t, 'user-chain-limit');
  t.true(topo.lines.includes('limit-reached'), 'one more level was refused: the chain is at the limit');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const users = ofType(img, 'user');
  t.is(users.length, 34, 'the initial user namespace and 33 nested ones');
  // One chain: each user namespace's parent is the one before it, and levels count up.
  users.forEach((u, i) => {
    t.is(u.parent, i === 0 ? null : users[i - 1]!.id);
    t.is(userState(u).level, i);
  });
  const leaf = users[33]!;
  t.is(leaf.inode, inodeOf(topo.pid, 'user'));
  t.is(proc(img, topo.pid).namespaces.user, leaf.id);
  // The 32 levels between have no process: their maps were read from inside, and are parent-relative.
  for (const u of users.slice(1)) t.deepEqual(userState(u).uidMap, [{ inside: 0, outside: 0, count: 1 }]);
});

test('a uts namespace owned by the parent of the process\'s user namespace', async (t) => {
  const topo = await startTopology(t, 'uts-owned-by-ancestor');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const p = proc(img, topo.pid);
  const user = byId(img, p.namespaces.user);
  const uts = byId(img, p.namespaces.uts);
  t.is(userState(user).level, 2);
  t.is(uts.owner, user.parent, 'the uts namespace belongs to the level-1 user namespace');
  t.is(stateOf(uts, 'uts').hostname, inside(topo.pid, ['-u'], ['hostname']).trim());
  t.is(stateOf(uts, 'uts').hostname, 'owned-by-level1');
});

test('three levels, each with its own user, uts and pid namespace and hostname', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const utsNames = ofType(img, 'uts').map((u) => stateOf(u, 'uts').hostname);
  for (const h of ['level1', 'level2', 'level3']) t.true(utsNames.includes(h), h);
  for (const p of img.processes) {
    const uts = byId(img, p.namespaces.uts);
    t.is(stateOf(uts, 'uts').hostname, inside(p.pid, ['-u'], ['hostname']).trim(), `hostname of pid ${p.pid}`);
    // The uts namespace of each level is owned by that level's user namespace.
    const user = byId(img, p.namespaces.user);
    if (!user.initial) t.is(uts.owner, user.id);
    t.deepEqual(p.nspid, nsPidOf(p.pid), `NSpid of ${p.pid}`);
  }
  const pids = ofType(img, 'pid');
  t.deepEqual(pids.map((n) => stateOf(n, 'pid').level), [0, 1, 2, 3]);
  // Each nested pid namespace is owned by the user namespace created with it.
  for (const n of pids.slice(1)) t.is(userState(byId(img, n.owner)).level, stateOf(n, 'pid').level);
});

test('nested time namespaces with different offsets', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const times = ofType(img, 'time').filter((n) => !n.initial);
  t.is(times.length, 2);
  for (const p of img.processes) {
    const ns = byId(img, p.namespaces.time_for_children);
    const kernel = readFileSync(`/proc/${p.pid}/timens_offsets`, 'utf8');
    const s = stateOf(ns, 'time');
    for (const clock of ['monotonic', 'boottime'] as const) t.regex(kernel, new RegExp(`${clock}\\s+${s[clock].seconds}\\s+${s[clock].nanoseconds}`));
  }
  const offsets = times.map((n) => stateOf(n, 'time').monotonic.seconds).sort((a, b) => a - b);
  t.deepEqual(offsets, [100, 3000]);
  const inner = times.find((n) => stateOf(n, 'time').monotonic.seconds === 3000)!;
  t.false(byId(img, inner.owner).initial, 'the inner time namespace is owned by the new user namespace');
});

test('multi-range id maps and setgroups deny, stored relative to the parent', async (t) => {
  const topo = await startTopology(t, 'user-multirange');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const [l1, l2] = ofType(img, 'user').filter((n) => !n.initial).map(userState);
  t.deepEqual(l1!.uidMap, [
    { inside: 0, outside: 0, count: 1 },
    { inside: 1, outside: 100000, count: 999 },
    { inside: 1000, outside: 300000, count: 500 },
  ]);
  t.deepEqual(l1!.gidMap, [
    { inside: 0, outside: 0, count: 1 },
    { inside: 1, outside: 100000, count: 999 },
    { inside: 2000, outside: 400000, count: 10 },
  ]);
  t.is(l1!.setgroups, 'deny');
  // Read from the initial namespace level 2 shows 10→100009 and 100→300000; relative to level 1 it is 10→10, 100→1000.
  t.deepEqual(l2!.uidMap, [
    { inside: 0, outside: 0, count: 1 },
    { inside: 10, outside: 10, count: 5 },
    { inside: 100, outside: 1000, count: 20 },
  ]);
  t.deepEqual(l2!.gidMap, [
    { inside: 0, outside: 0, count: 1 },
    { inside: 5, outside: 2000, count: 3 },
  ]);
  t.is(l2!.level, 2);
  // The kernel's own parent-relative view: level 2's map read from a process of level 1.
  const leaf = img.processes.find((p) => userState(byId(img, p.namespaces.user)).level === 2)!;
  const mid = img.processes.find((p) => userState(byId(img, p.namespaces.user)).level === 1)!;
  const fromParent = inside(mid.pid, ['-U', '--preserve-credentials'], ['cat', `/proc/${leaf.pid}/uid_map`]);
  t.deepEqual(fromParent.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)), l2!.uidMap.map((m) => [m.inside, m.outside, m.count]));
});

test('nested ipc namespaces with changed sysctls', async (t) => {
  const topo = await startTopology(t, 'ipc-nested');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const seen = new Set<number>();
  for (const p of img.processes) {
    const ns = byId(img, p.namespaces.ipc);
    if (seen.has(ns.id)) continue;
    seen.add(ns.id);
    const sysctls = stateOf(ns, 'ipc').sysctls;
    for (const [name, file] of [['kernel.shmmax', 'kernel/shmmax'], ['kernel.msgmax', 'kernel/msgmax'], ['fs.mqueue.msg_max', 'fs/mqueue/msg_max'], ['kernel.sem', 'kernel/sem']]) {
      const kernel = inside(p.pid, ['-i'], ['cat', `/proc/sys/${file}`]).trim().split(/\s+/).join(' ');
      t.is(sysctls[name!], kernel, `${name} in ipc#${ns.id}`);
    }
  }
  const shm = ofType(img, 'ipc').map((n) => stateOf(n, 'ipc').sysctls['kernel.shmmax']);
  t.true(shm.includes('123456789') && shm.includes('987654'));
});

test('nested pid namespaces with several processes per level', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const levels = new Map<number, number>();
  for (const p of img.processes) {
    t.deepEqual(p.nspid, nsPidOf(p.pid), `NSpid of ${p.pid}`);
    const level = stateOf(byId(img, p.namespaces.pid), 'pid').level;
    t.is(p.nspid.length, level + 1);
    levels.set(level, (levels.get(level) ?? 0) + 1);
  }
  for (const l of [1, 2, 3]) t.true((levels.get(l) ?? 0) >= 3, `at least 3 processes at level ${l}`);
});

test('a tree whose children sit in different namespaces', async (t) => {
  const topo = await startTopology(t, 'mixed-children');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const root = proc(img, topo.pid);
  const children = img.processes.filter((p) => p.ppid === topo.pid);
  t.is(children.length, 7);
  const differing = children.map((c) => (['user', 'mnt', 'net', 'ipc', 'uts', 'cgroup'] as const).filter((l) => c.namespaces[l] !== root.namespaces[l]));
  // Each child leaves exactly one of the parent's namespaces (the user one also lands in its sleep's own), one leaves none.
  t.deepEqual(differing.map((d) => d.join(',')).sort(), ['', 'cgroup', 'ipc', 'mnt', 'net', 'user', 'uts']);
  const utsChild = children.find((c) => c.namespaces.uts !== root.namespaces.uts)!;
  t.is(stateOf(byId(img, utsChild.namespaces.uts), 'uts').hostname, 'child-uts');
});

test('namespaces held only by a bind mount and only by an fd', async (t) => {
  const topo = await startTopology(t, 'holders');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const root = proc(img, topo.pid);
  const fdHeld = img.namespaces.find((n) => n.holders.some((h) => h.kind === 'fd'))!;
  t.is(fdHeld.type, 'net');
  t.deepEqual(fdHeld.holders, [{ kind: 'fd', pid: topo.pid, fd: 7 }]);
  t.false(img.processes.some((p) => p.namespaces.net === fdHeld.id), 'no process is inside the fd-held namespace');
  const bindHeld = img.namespaces.find((n) => n.holders.some((h) => h.kind === 'bind'))!;
  t.is(bindHeld.type, 'uts');
  t.deepEqual(bindHeld.holders, [{ kind: 'bind', pid: topo.pid, path: '/mnt/uts' }]);
  t.is(stateOf(bindHeld, 'uts').hostname, 'held-by-bind');
  t.false(img.processes.some((p) => p.namespaces.uts === bindHeld.id));
  // The kernel agrees: the fd and the bind mount refer to these very namespaces.
  const { readlinkSync } = await import('node:fs');
  t.is(readlinkSync(`/proc/${topo.pid}/fd/7`), `net:[${fdHeld.inode}]`);
  const mountinfo = readFileSync(`/proc/${topo.pid}/mountinfo`, 'utf8');
  t.regex(mountinfo, new RegExp(`uts:\\[${bindHeld.inode}\\] /mnt/uts `));
  t.not(root.namespaces.mnt, null);
});
