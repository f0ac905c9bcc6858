// Network namespaces come back usable: what a dump records is what the kernel (iproute2) says, a
// dump allocates no netns id in what it reads, and after a restore traffic flows — a ping across
// the restored veth pair (IPv4 and IPv6), a TCP connection to 127.0.0.1 inside a restored
// namespace, a ping from the executor's own network to a veth mapped with --external. Only
// documentation addresses, only namespaces the tests made; the --external test runs in a throwaway
// network namespace of its own, so the host's network is never touched.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Image, StateOf } from '../src/model/image.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { firstLine } from './helpers/child.js';
import { type Ready, hold } from './helpers/restore.js';
import { run } from './helpers/kernel.js';
import { CLI } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

const netOf = (img: Image, id: number) => img.namespaces[id - 1]!.state as StateOf<'net'>;

/** The image id of the net namespace whose link `dev` has `address`. */
function netWith(img: Image, address: string): number {
  const n = img.namespaces.find((x) => x.type === 'net' && !x.inScope && (x.state as StateOf<'net'> | null)?.interfaces.some((l) => l.addresses.some((a) => a.address === address)));
  if (!n) throw new Error(`no net namespace has ${address}`);
  return n.id;
}

/** The restored net namespace (a /proc path) standing for dumped net namespace `id`. */
function restoredNet(img: Image, ready: Ready, id: number): string {
  const pid = img.processes.find((p) => p.namespaces.net === id)!.pid;
  const set = Object.values(ready.sets).find((s) => s.pids.includes(pid))!;
  return set.ns.net!;
}

const inNet = (path: string, argv: string[]) => spawnSync('nsenter', [`--net=${path}`, '--', ...argv], { encoding: 'utf8', timeout: 10_000 });

test('a veth pair between two namespaces: the dump says what ip says, peers resolved to image ids', async (t) => {
  const topo = await startTopology(t, 'net-veth-pair');
  const { img } = dumpToJson(t, topo.pid);
  const a = netWith(img, '198.51.100.1');
  const b = netWith(img, '198.51.100.2');
  const pidIn = (id: number) => img.processes.find((p) => p.namespaces.net === id)!.pid;
  for (const [id, other] of [[a, b], [b, a]] as const) {
    const kernel = JSON.parse(run('nsenter', [`--net=/proc/${pidIn(id)}/ns/net`, '--', 'ip', '-j', 'address', 'show'])) as { ifname: string; ifindex: number; mtu: number; address: string; flags: string[]; addr_info: { local: string; prefixlen: number }[] }[];
    const state = netOf(img, id);
    t.deepEqual(state.interfaces.map((l) => l.name).sort(), kernel.map((k) => k.ifname).sort());
    for (const k of kernel) {
      const l = state.interfaces.find((x) => x.name === k.ifname)!;
      t.is(l.index, k.ifindex);
      t.is(l.mtu, k.mtu);
      t.is(l.mac, k.address);
      t.is(l.flags.includes('UP'), k.flags.includes('UP'), k.ifname);
      t.deepEqual(l.addresses.map((x) => `${x.address}/${x.prefixLen}`).sort(), k.addr_info.map((x) => `${x.local}/${x.prefixlen}`).sort(), k.ifname);
    }
    const eth0 = state.interfaces.find((l) => l.name === 'eth0')!;
    t.is(eth0.kind, 'veth');
    t.is(eth0.linkNetns, other, 'the peer lies in the other namespace');
    t.false(eth0.linkOutside);
    t.is(eth0.link, netOf(img, other).interfaces.find((l) => l.name === 'eth0')!.index);
  }
  t.true(netOf(img, a).routes.some((r) => r.family === 'inet' && r.dst === '' && r.gateway === '198.51.100.2' && r.dev === 'eth0'), 'the IPv4 default route');
  t.true(netOf(img, b).routes.some((r) => r.family === 'inet6' && r.dst === '' && r.gateway === '2001:db8::1'), 'the IPv6 default route');
});

test('a dump allocates no netns id in the namespaces it reads (ip link show would)', async (t) => {
  // x's peer y was moved to b after x was moved to a: no notification gave b an id in a.
  const topo = await startTopology(t, 'netns-ids', {
    inline: `set -e
unshare --net sleep 100000 & a=$!
unshare --net sleep 100000 & b=$!
unshare --net sleep 100000 & c=$!
for p in $a $b $c; do while [ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done; done
nsenter --net=/proc/$c/ns/net ip link add name x type veth peer name y
nsenter --net=/proc/$c/ns/net ip link set dev x netns $a
nsenter --net=/proc/$c/ns/net ip link set dev y netns $b
echo "a $a"
echo "b $b"
echo ready
wait`,
  });
  const pidOf = (k: string) => Number(topo.lines.find((l) => l.startsWith(`${k} `))!.split(' ')[1]);
  const ids = () => run('nsenter', [`--net=/proc/${pidOf('a')}/ns/net`, '--', 'ip', 'netns', 'list-id']);
  const before = ids();
  const { img } = dumpToJson(t, topo.pid);
  t.is(ids(), before, 'the netns ids of the dumped namespace are unchanged');
  const netA = img.processes.find((p) => p.pid === pidOf('a'))!.namespaces.net!;
  const netB = img.processes.find((p) => p.pid === pidOf('b'))!.namespaces.net!;
  const x = netOf(img, netA).interfaces.find((l) => l.name === 'x')!;
  t.is(x.linkNetns, netB);
  t.is(netOf(img, netB).interfaces.find((l) => l.index === x.link)?.name, 'y');
});

test('restored veth pair: a ping crosses it (IPv4 and IPv6), and the IPv4 default route works', async (t) => {
  const topo = await startTopology(t, 'net-veth-pair');
  const { dir, img } = dumpToJson(t, topo.pid);
  const { ready } = await hold(t, dir);
  const a = restoredNet(img, ready, netWith(img, '198.51.100.1'));
  const b = restoredNet(img, ready, netWith(img, '198.51.100.2'));
  for (const [from, to] of [[a, '198.51.100.2'], [b, '198.51.100.1'], [a, '2001:db8::2']] as const) {
    const r = inNet(from, ['ping', '-c1', '-W2', to]);
    t.is(r.status, 0, `${from} → ${to}: ${r.stdout}${r.stderr}`);
  }
  // 198.51.100.77 is on no link: the packet leaves by the default route, through the peer.
  const route = inNet(a, ['ip', '-4', 'route', 'get', '198.51.100.77']);
  t.regex(route.stdout, /dev eth0/);
  const def = inNet(a, ['ip', '-4', 'route', 'show', 'default']);
  t.regex(def.stdout, /^default via 198\.51\.100\.2 dev eth0/m);
});

test('lo comes back up: a process bound to 127.0.0.1 in a restored namespace is reachable from inside it', async (t) => {
  const topo = await startTopology(t, 'net-lo-sysctls');
  const { dir, img } = dumpToJson(t, topo.pid);
  const { ready } = await hold(t, dir);
  const net = restoredNet(img, ready, netWith(img, '198.51.100.9'));
  const server = spawn('nsenter', [`--net=${net}`, '--', process.execPath, '-e', 'require("net").createServer((s) => s.end("hello\\n")).listen(0, "127.0.0.1", function () { console.log(this.address().port) })'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const gone = new Promise<number | null>((r) => server.once('close', (c) => r(c)));
  t.teardown(() => {
    server.kill('SIGKILL');
    return gone;
  });
  const port = Number(await firstLine(server, gone, 'server', 20_000, () => ''));
  const client = inNet(net, [process.execPath, '-e', `require("net").connect(${port}, "127.0.0.1").on("data", (d) => { process.stdout.write(d); process.exit(0) }).on("error", (e) => { console.error(e.message); process.exit(1) })`]);
  t.is(client.status, 0, client.stderr);
  t.is(client.stdout, 'hello\n');
  // The extra loopback addresses, the changed sysctls and the blackhole route are there too.
  t.regex(inNet(net, ['ip', '-o', 'address', 'show', 'dev', 'lo']).stdout, /198\.51\.100\.9\/32[\s\S]*2001:db8::9\/128/);
  const changed: [string, string][] = [['ipv4/ip_forward', '1'], ['ipv4/ip_unprivileged_port_start', '80'], ['ipv4/ping_group_range', '0\t2147483647'], ['ipv6/conf/all/forwarding', '1']];
  for (const [path, value] of changed) {
    t.is(inNet(net, ['cat', `/proc/sys/net/${path}`]).stdout.trim(), value, path);
  }
  t.regex(inNet(net, ['ip', '-4', 'route', 'show']).stdout, /^blackhole 198\.51\.100\.128\/25/m);
});

test('a bridge with three veth ports across namespaces: every port pings the others through the restored bridge', async (t) => {
  const topo = await startTopology(t, 'net-bridge');
  const { dir, img } = dumpToJson(t, topo.pid);
  const { ready } = await hold(t, dir);
  const l1 = restoredNet(img, ready, netWith(img, '198.51.100.11'));
  const sw = restoredNet(img, ready, netWith(img, '198.51.100.10'));
  for (const to of ['198.51.100.12', '198.51.100.13', '198.51.100.10']) {
    const r = inNet(l1, ['ping', '-c1', '-W2', to]);
    t.is(r.status, 0, `→ ${to}: ${r.stdout}${r.stderr}`);
  }
  const ports = JSON.parse(inNet(sw, ['ip', '-j', 'link', 'show', 'master', 'br0']).stdout) as { ifname: string }[];
  t.deepEqual(ports.map((p) => p.ifname).sort(), ['port1', 'port2', 'port3']);
});

test('a veth to the dumper\'s own network is external: listed in the plan, not made, until --external maps it', async (t) => {
  const dir = tempDir(t);
  const host = `nsd${process.pid}`.slice(0, 15);
  // All of it in a throwaway network namespace W: the "host" here is W, never the real one.
  const script = `
set -e
ip link set dev lo up
unshare --net sleep 100000 & c=$!
trap 'kill -9 $c 2>/dev/null' EXIT
while [ "$(readlink /proc/$c/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
ip link add name w0 type veth peer name eth0 netns $c
nsenter --net=/proc/$c/ns/net ip address add 198.51.100.2/24 dev eth0
nsenter --net=/proc/$c/ns/net ip link set dev eth0 up
node ${CLI} dump $c -o ${dir}/a -q
node ${CLI} plan ${dir}/a | grep '^External'
before=$(ip -o link show | sed 's/^[0-9]*: //' | cut -d: -f1 | sort | tr '\\n' ' ')
node ${CLI} restore ${dir}/a -- ip -o link show dev eth0 | grep -c eth0 || echo "no eth0 inside"
after=$(ip -o link show | sed 's/^[0-9]*: //' | cut -d: -f1 | sort | tr '\\n' ' ')
[ "$before" = "$after" ] && echo "own network unchanged"
node ${CLI} restore ${dir}/a --hold --external veth:eth0=${host} > ${dir}/ready &
r=$!
until [ -s ${dir}/ready ] || ! kill -0 $r 2>/dev/null; do sleep 0.02; done
ip address add 198.51.100.1/24 dev ${host}
ip link set dev ${host} up
ping -c1 -W2 198.51.100.2 >/dev/null && echo "ping ok"
kill $r; wait $r; echo "restore=$?"
# The kernel tears a network namespace down asynchronously (cleanup_net, from a workqueue), and
# the veth whose other end was there with it: wait for that (at most ~10 s).
i=0
while ip link show dev ${host} >/dev/null 2>&1 && [ "$i" -lt 1000 ]; do i=$((i + 1)); sleep 0.01; done
ip link show dev ${host} >/dev/null 2>&1 || echo "host end gone"
`;
  const r = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8', timeout: 120_000 });
  t.regex(r.stdout, /^External, left to the orchestrator: net#\d+ veth eth0: its peer is in a network namespace outside the dump/m, r.stderr);
  t.regex(r.stdout, /^no eth0 inside$/m, r.stderr);
  t.regex(r.stdout, /^own network unchanged$/m, r.stderr);
  t.regex(r.stdout, /^ping ok$/m, r.stderr);
  t.regex(r.stdout, /^restore=0$/m, r.stderr);
  t.regex(r.stdout, /^host end gone$/m, r.stderr);
});

test('--external is checked: a malformed one is a usage error, one that names no external veth too', async (t) => {
  const topo = await startTopology(t, 'net-veth-pair');
  const { dir } = dumpToJson(t, topo.pid);
  const bad = nsdump(['plan', dir, '--external', 'eth0=host0']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^nsdump: --external eth0=host0: expected veth:NAME\[@NETNS\]=HOSTNAME\n$/);
  const none = nsdump(['plan', dir, '--external', 'veth:eth0=host0']);
  t.is(none.code, 2);
  t.regex(none.stderr, /no external veth of that name/);
  t.is(nsdump(['plan', join(dir), '-f', 'json']).code, 0);
});

test('policy rules and the tables they look up: dumped as ip says, restored the same (IPv4 and IPv6, a deleted default too), diff equivalent', async (t) => {
  const topo = await startTopology(t, 'net-rules');
  const { dir, img } = dumpToJson(t, topo.pid);
  const id = netWith(img, '198.51.100.1');
  const state = netOf(img, id);
  const original = `/proc/${img.processes.find((p) => p.namespaces.net === id)!.pid}/ns/net`;
  // What ip lists beyond a fresh namespace's rules is what the image has, in the kernel's order.
  const freshPrio = { inet: [0, 32766, 32767], inet6: [0, 32766] };
  for (const family of ['inet', 'inet6'] as const) {
    const listed = JSON.parse(inNet(original, ['ip', family === 'inet' ? '-4' : '-6', '-j', 'rule']).stdout) as { priority: number }[];
    t.deepEqual(state.rules.filter((r) => r.family === family).map((r) => r.priority), listed.map((r) => r.priority).filter((p) => !freshPrio[family].includes(p)), family);
  }
  t.deepEqual(state.missingDefaultRules.map((r) => `${r.family} ${r.priority} ${r.table}`), ['inet 32767 253']);
  const lookup = state.rules.find((r) => r.src === '198.51.100.0')!;
  t.like(lookup, { family: 'inet', srcLen: 24, action: 'lookup', table: 100 });
  t.like(state.rules.find((r) => r.family === 'inet6')!, { priority: 500, dst: '2001:db8:1::', dstLen: 48, table: 200 });
  t.like(state.rules.find((r) => r.priority === 600)!, { action: 'goto', gotoPriority: 700, fwmark: 5, fwmask: 0xff, iif: 'r1' });
  t.like(state.rules.find((r) => r.priority === 700)!, { action: 'prohibit', ipProto: 6, dportRange: '80-81' });
  t.deepEqual(state.routes.filter((r) => r.table === 100).map((r) => `${r.dst}/${r.dstLen}`).sort(), ['/0', '198.51.100.128/25']);
  t.deepEqual(state.routes.filter((r) => r.table === 200).map((r) => `${r.dst}/${r.dstLen}`), ['2001:db8:1::/48']);

  const { ready } = await hold(t, dir);
  const restored = restoredNet(img, ready, id);
  const views = [['-4', 'rule'], ['-6', 'rule'], ['-4', 'route', 'show', 'table', '100'], ['-6', 'route', 'show', 'table', '200'], ['-4', 'route', 'show', 'table', 'all']];
  for (const v of views) {
    const [a, b] = [original, restored].map((ns) => inNet(ns, ['ip', '-j', ...v])) as [ReturnType<typeof inNet>, ReturnType<typeof inNet>];
    t.is(b.status, 0, b.stderr);
    t.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout), `ip ${v.join(' ')}`);
  }
  // The kernel uses them: from the rule's source the lookup goes to table 100 (whose default route
  // wins over main's connected 198.51.100.0/24), from elsewhere to main.
  t.regex(inNet(restored, ['ip', '-4', 'route', 'get', '198.51.100.77', 'from', '198.51.100.1']).stdout, /via 198\.51\.100\.2 dev r0 table 100/);
  t.notRegex(inNet(restored, ['ip', '-4', 'route', 'get', '198.51.100.77']).stdout, /table 100|via/);
  const again = join(tempDir(t), 'restored');
  t.is(nsdump(['dump', String(ready.root), '-o', again, '-q']).code, 0);
  const d = nsdump(['diff', dir, again]);
  t.is(d.code, 0, `${d.stdout}${d.stderr}`);
});
