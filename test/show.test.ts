// What `nsdump show` prints for people and for scripts.
import test from 'ava';
import { NS_LINKS } from '../src/model/species.js';
import { dumpToJson, nsdump } from './helpers/cli.js';
import { startTopology } from './helpers/topology.js';

test('the tree nests user namespaces and lists what each owns and who lives there', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir } = dumpToJson(t, topo.pid);
  const r = nsdump(['show', dir]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.regex(lines[0]!, new RegExp(`^image: root pid ${topo.pid}, \\d+ namespaces, \\d+ processes; dumped on `));
  t.regex(lines[1]!, /^user#1 \[\d+\] initial, dumper's own, level 0/);
  const depth = (host: string) => {
    const l = lines.find((x) => x.includes(`hostname "${host}"`));
    t.truthy(l, host);
    return l!.search(/uts#/);
  };
  t.true(depth('level1') < depth('level2') && depth('level2') < depth('level3'), 'deeper levels are indented further');
  t.regex(r.stdout, /└─ user#\d+ \[\d+\] level 3, owner uid 0, uid 0→0×1, gid 0→0×1, setgroups deny/);
  t.regex(r.stdout, new RegExp(`process \\d+ sleep in pid#\\d+ .*uts#\\d+`));
});

test('--json keeps the names scripts rely on', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const { img } = dumpToJson(t, topo.pid);
  for (const n of img.namespaces) {
    for (const k of ['id', 'type', 'inode', 'nsId', 'owner', 'parent', 'state']) t.true(k in n, `namespace field ${k}`);
    t.true(['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time'].includes(n.type));
  }
  const user = img.namespaces.find((n) => n.type === 'user' && !n.initial)!.state as Record<string, unknown>;
  t.deepEqual(Object.keys(user).sort(), ['gidMap', 'level', 'ownerUid', 'projidMap', 'setgroups', 'uidMap']);
  t.deepEqual(Object.keys((user.uidMap as object[])[0]!).sort(), ['count', 'inside', 'outside']);
  const time = img.namespaces.find((n) => n.type === 'time' && !n.initial)!.state as Record<string, unknown>;
  t.deepEqual(Object.keys(time.monotonic as object).sort(), ['nanoseconds', 'seconds']);
  t.true('hostname' in (img.namespaces.find((n) => n.type === 'uts')!.state as object));
  t.true('kernel.shmmax' in (img.namespaces.find((n) => n.type === 'ipc')!.state as { sysctls: object }).sysctls);
  t.true('fs.mqueue.msg_max' in (img.namespaces.find((n) => n.type === 'ipc')!.state as { sysctls: object }).sysctls);
  for (const p of img.processes) {
    t.deepEqual(Object.keys(p.namespaces).sort(), [...NS_LINKS].sort());
    t.is(typeof p.ppid, 'number');
  }
});

test('usage errors say what is wrong and exit 2', (t) => {
  const none = nsdump([]);
  t.is(none.code, 2);
  t.regex(none.stderr, /a command is required/);
  const bad = nsdump(['frobnicate']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^nsdump: frobnicate: unknown command\n$/);
});
