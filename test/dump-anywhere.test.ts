// Dumping where it is hard (issue 9): inside a rootless container that shares the host's uts and
// ipc namespaces, on a tree that churns, as a user without privileges, the whole host; stopping
// on signals; leftovers of killed dumps; fds opened through bind-mount paths; credentials.
// Serial: several tests block their worker in spawnSync for long stretches, which would starve
// the readiness waits of tests running beside them in the same file.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dumpTree } from '../src/discover/dump.js';
import { join } from 'node:path';
import { stateOf as nsState, type Credentials, type Image } from '../src/model/image.js';
import { firstLine } from './helpers/child.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { assertMatchesKernel, sessionMembers } from './helpers/kernel.js';
import { stageCli } from './helpers/other-uid.js';
import { CLI } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

/** `nsdump show --json`; a whole-host image prints far more than spawnSync's default buffer. */
const show = (dir: string): Image => {
  const s = spawnSync(process.execPath, [CLI, 'show', dir, '--json'], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 120_000 });
  if (s.status !== 0) throw new Error(`show ${dir}: ${s.stderr}`);
  return JSON.parse(s.stdout) as Image;
};

/** State letter of a process, or '' once it is gone. */
function stateOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/** The ids, groups, capability sets and no_new_privs of /proc/PID/status, as the image records them. */
function statusCredentials(pid: number): Credentials {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => new RegExp(`^${k}:[ \\t]*([^\\n]*)$`, 'm').exec(status)![1]!.trim();
  const four = (k: string) => {
    const [real, effective, saved, fs] = field(k).split(/\s+/).map(Number);
    return { real: real!, effective: effective!, saved: saved!, fs: fs! };
  };
  const groups = field('Groups');
  return {
    uid: four('Uid'),
    gid: four('Gid'),
    groups: groups ? groups.split(/\s+/).map(Number) : [],
    capabilities: { inheritable: field('CapInh'), permitted: field('CapPrm'), effective: field('CapEff'), bounding: field('CapBnd'), ambient: field('CapAmb') },
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}

test.serial('inside a rootless container sharing the host\'s uts and ipc: own uts, ipc, net, user, time namespaces dumped, planned and restored', (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const fifo = join(dir, 'ready');
  spawnSync('mkfifo', [fifo]);
  const host = `ctr-${process.pid}`;
  // Everything runs in the container; its pid namespace ends (and takes every process with it)
  // when its init, this script, exits — or when unshare is killed (--kill-child).
  // Restores here get a TMPDIR of their own: restore sweeps FIFO directories whose owner pid it
  // cannot see, and from inside this pid namespace no other test's restore is visible.
  const script = `
    set -e
    export TMPDIR=${dir}/tmp; mkdir -p $TMPDIR
    unshare --user --map-root-user --uts --ipc --net --time --monotonic 100 --boottime 200 --fork sh -c '
      hostname ${host}; echo 12345 > /proc/sys/kernel/msgmnb; echo ready > ${fifo}; exec sleep 100000' &
    read x < ${fifo}
    t=$(cat /proc/$!/task/$!/children); t=\${t% }
    echo "target=$t"
    echo "hostname=$(nsenter -t $t -u hostname)"
    echo "msgmnb=$(nsenter -t $t -i cat /proc/sys/kernel/msgmnb)"
    echo "userns=$(readlink /proc/$t/ns/user)"
    ${process.execPath} ${CLI} dump $! -o ${dir}/img -q
    ${process.execPath} ${CLI} dump 1 -o ${dir}/img1 -q
    ${process.execPath} ${CLI} plan ${dir}/img > /dev/null
    echo "restored=$(${process.execPath} ${CLI} restore ${dir}/img --pid $t -- hostname)"
    echo "restored-msgmnb=$(${process.execPath} ${CLI} restore ${dir}/img --pid $t -- cat /proc/sys/kernel/msgmnb)"
    echo "restored-time=$(${process.execPath} ${CLI} restore ${dir}/img --pid $t -- cat /proc/self/timens_offsets | tr '\\n' ' ')"
  `;
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 120_000,
    killSignal: 'SIGKILL',
  });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, "", `no complaint: nothing was beyond reach; stdout: ${r.stdout}`);
  const out: Record<string, string> = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const img = show(join(dir, 'img'));
  const target = img.processes.find((p) => p.pid === Number(out.target))!;
  t.truthy(target, 'the target is in the image');
  const ns = (id: number | null) => img.namespaces.find((n) => n.id === id)!;
  // What the kernel showed from inside the container.
  t.is(out.hostname, host);
  t.is(nsState(ns(target.namespaces.uts), 'uts').hostname, out.hostname ?? '');
  t.is(nsState(ns(target.namespaces.ipc), 'ipc').sysctls['kernel.msgmnb'], out.msgmnb ?? '');
  t.is(`user:[${ns(target.namespaces.user).inode}]`, out.userns ?? '');
  const time = nsState(ns(target.namespaces.time), 'time');
  t.deepEqual([time.monotonic.seconds, time.boottime.seconds], [100, 200]);
  t.is(ns(target.namespaces.net).stateNote, '');
  t.truthy(ns(target.namespaces.net).state);
  // The edge: the container's own user and pid namespaces have parents beyond its scope; its
  // uts and ipc (the host's) are not in this tree at all, their owners beyond scope in dump 1.
  const own = new Map(img.inventory.scope.map((s) => [s.type, s.id]));
  t.true(ns(own.get('user')!).parentBeyondScope);
  const img1 = show(join(dir, 'img1'));
  for (const type of ['uts', 'ipc'] as const) {
    const n = img1.namespaces.find((x) => x.type === type && x.inScope)!;
    t.true(n.ownerBeyondScope, `${type}: owner beyond scope`);
    t.truthy(n.state, `${type}: its state is still read (the dumper is in it)`);
  }
  // Restored in the same container, from the image alone.
  t.is(out.restored, host);
  t.is(out['restored-msgmnb'], '12345');
  t.regex(out['restored-time']!, /monotonic\s+100\s+0\s+boottime\s+200\s+0/);
});

test.serial('credentials of setpriv-made processes agree with /proc/PID/status; unmapped groups are marked, never 65534', async (t) => {
  const topo = await startTopology(t, 'setpriv-creds', {
    inline: `
      setpriv --reuid=4321 --regid=4322 --groups=7,8,9 --inh-caps=-all,+net_raw,+kill --ambient-caps=+net_raw --bounding-set=-sys_admin,-mknod sleep 100000 &
      setpriv --ruid=5001 --euid=5002 --rgid=6001 --egid=6002 --clear-groups --no-new-privs --inh-caps=-all sleep 100000 &
      setpriv --groups=0,${40000 + (process.pid % 1000)} sleep 100000 &
      echo ready; wait`,
  });
  const kids = () => sessionMembers(topo.pid).filter((p) => p.comm === 'sleep').map((p) => p.pid);
  // setpriv execs sleep: wait until all three have (their comm says so), reading the kernel, not a clock.
  for (let i = 0; i < 500 && kids().length < 3; i++) await new Promise((r) => setImmediate(r));
  const { img } = dumpToJson(t, topo.pid);
  t.is(kids().length, 3);
  for (const pid of [topo.pid, ...kids()]) {
    const p = img.processes.find((x) => x.pid === pid)!;
    t.deepEqual(p.credentials, statusCredentials(pid), `pid ${pid}`);
  }
  const [a, b] = kids().map((pid) => img.processes.find((x) => x.pid === pid)!.credentials!);
  t.deepEqual(a!.uid, { real: 4321, effective: 4321, saved: 4321, fs: 4321 });
  t.deepEqual(a!.groups, [7, 8, 9]);
  t.is(a!.capabilities.ambient, '0000000000002000', 'CAP_NET_RAW (13) ambient');
  t.is((BigInt(`0x${a!.capabilities.bounding}`) >> 21n) & 1n, 0n, 'CAP_SYS_ADMIN dropped from the bounding set');
  t.deepEqual(b!.uid, { real: 5001, effective: 5002, saved: 5002, fs: 5002 });
  t.true(b!.noNewPrivs);
  t.false(a!.noNewPrivs);

  // The same process seen from a container that maps only uid/gid 0: its extra group has no
  // mapping there; the kernel prints 65534, the image says unmapped (null).
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const third = kids()[2]!;
  const extra = 40000 + (process.pid % 1000);
  const r = spawnSync(
    'setpriv',
    [`--groups=0,${extra}`, 'unshare', '--user', '--map-root-user', '--fork', '--kill-child', 'sh', '-c', `cat /proc/self/status | grep ^Groups; ${process.execPath} ${CLI} dump $$ -o ${dir}/img -q`],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^Groups:\s+0 65534\s*$/m, 'the kernel shows the overflow gid inside');
  const inner = show(join(dir, 'img'));
  for (const p of inner.processes) t.deepEqual(p.credentials!.groups, [0, null], `pid ${p.pid}`);
  t.deepEqual(statusCredentials(third).groups, [0, extra], 'the host sees the real gid');
});

test.serial('a churning tree: 20 dumps with --freeze all succeed and the tree runs again; 20 without are never exit 70', async (t) => {
  // 20 groups: ~480 processes, ~150 exits/s — modest, as other test files run beside this one on
  // two cores; scripts/bench-dump.mjs is where the full-size tree belongs.
  const topo = await startTopology(t, 'churn', { args: ['20'] });
  const dir = tempDir(t);
  const codes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = nsdump(['dump', String(topo.pid), '--freeze', '-o', join(dir, `f${i}`), '-q'], { timeout: 120_000 });
    t.is(r.code, 0, `dump ${i} --freeze: ${r.stderr}`);
    // Resumed: nothing of the tree is left stopped (the dump ended, so every SIGCONT has been sent).
    const stopped = sessionMembers(topo.pid).filter((p) => stateOf(p.pid) === 'T');
    t.deepEqual(stopped, [], `dump ${i}: left stopped`);
    if (i === 0) {
      const img = show(join(dir, 'f0'));
      const pids = new Set(img.processes.map((p) => p.pid));
      t.true(img.processes.length > 300, `${img.processes.length} processes`);
      for (const p of img.processes) if (p.pid !== topo.pid) t.true(pids.has(p.ppid), `pid ${p.pid}: parent ${p.ppid} in the image`);
    }
  }
  for (let i = 0; i < 20; i++) {
    const r = nsdump(['dump', String(topo.pid), '-o', join(dir, `n${i}`), '-q'], { timeout: 120_000 });
    codes.push(r.code ?? -1);
    t.true(r.code === 0 || r.code === 7, `dump ${i}: exit ${r.code}: ${r.stderr}`);
  }
  t.log(`without --freeze: ${codes.filter((c) => c === 0).length} of 20 exit 0`);
});

test.serial('--freeze stops only what runs: a process stopped before stays stopped; --all --freeze is refused', async (t) => {
  const topo = await startTopology(t, 'prestopped', { inline: 'sleep 100000 & sleep 100000 & echo ready; wait' });
  const sleepers = () => sessionMembers(topo.pid).filter((p) => p.comm === 'sleep').map((p) => p.pid);
  // "ready" may come before both children have exec'd sleep: wait until the kernel shows them.
  for (let i = 0; i < 5000 && sleepers().length < 2; i++) await new Promise((r) => setImmediate(r));
  const [a, b] = sleepers();
  process.kill(a!, 'SIGSTOP');
  for (let i = 0; i < 1000 && stateOf(a!) !== 'T'; i++) await new Promise((r) => setImmediate(r));
  t.is(stateOf(a!), 'T');
  const dir = tempDir(t);
  const r = nsdump(['dump', String(topo.pid), '--freeze', '-o', join(dir, 'img'), '-q']);
  t.is(r.code, 0, r.stderr);
  t.is(stateOf(a!), 'T', 'stopped by someone else: not resumed');
  t.not(stateOf(b!), 'T', 'stopped by nsdump: resumed');
  t.not(stateOf(topo.pid), 'T');
  const all = nsdump(['dump', '--all', '--freeze', '-o', join(dir, 'all')]);
  t.is(all.code, 2);
  t.is(all.stderr, 'nsdump: --all --freeze: refusing to stop every process of the system\n');
});

test.serial('SIGTERM during a --freeze dump: it ends by the signal, resumes the tree, leaves nothing', async (t) => {
  const topo = await startTopology(t, 'churn', { args: ['20'] });
  const parent = tempDir(t);
  const child = spawn(process.execPath, [CLI, 'dump', String(topo.pid), '--freeze', '-o', join(parent, 'img')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  t.teardown(() => child.kill('SIGKILL'));
  // Readiness: the tree shows stopped processes, so the dump is under way.
  while (!sessionMembers(topo.pid).some((p) => stateOf(p.pid) === 'T') && child.exitCode === null) await new Promise((r) => setImmediate(r));
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  if (code === 0) {
    t.log('the dump finished before the signal arrived; nothing to check');
    t.pass();
    return;
  }
  t.is(signal, 'SIGTERM');
  t.deepEqual(readdirSync(parent), [], 'no image, no temporary directory');
  t.deepEqual(sessionMembers(topo.pid).filter((p) => stateOf(p.pid) === 'T'), [], 'everything resumed');
});

test.serial('a temporary directory of a killed dump is removed by the next dump; one whose writer lives is not', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  const parent = tempDir(t);
  const dead = join(parent, '.old.nsdump-Dead00');
  const live = join(parent, '.busy.nsdump-Live00');
  mkdirSync(dead);
  mkdirSync(live);
  // A "writer" that holds the lock as a live dump does (flock(1) locks a directory too).
  const holder = spawn('flock', ['--exclusive', live, 'sh', '-c', 'echo ready; exec sleep 100000'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const holderExit = new Promise<number | null>((r) => holder.once('exit', r));
  t.teardown(() => {
    try {
      process.kill(-holder.pid!, 'SIGKILL');
    } catch {}
  });
  await firstLine(holder, holderExit, 'flock', 30_000, () => '');
  t.is(nsdump(['dump', String(topo.pid), '-o', join(parent, 'img'), '-q']).code, 0);
  t.false(existsSync(dead), 'nobody held it: removed');
  t.true(existsSync(live), 'its writer lives: kept');
  process.kill(-holder.pid!, 'SIGKILL');
  await holderExit;
  t.is(nsdump(['dump', String(topo.pid), '-o', join(parent, 'img2'), '-q']).code, 0);
  t.deepEqual(readdirSync(parent).sort(), ['img', 'img2']);
});

test.serial('an fd opened through an nsfs bind-mount path is a holder, recognised by the open file, not its path', async (t) => {
  const topo = await startTopology(t, 'bind-path-fd', {
    inline: `exec unshare --mount --propagation private sh -c '
      mount -t tmpfs nsdump-test /mnt && touch /mnt/net && unshare --net=/mnt/net true
      exec 8< /mnt/net
      echo ready; exec sleep 100000'`,
  });
  t.is(readlinkSync(`/proc/${topo.pid}/fd/8`), '/mnt/net', 'the kernel shows the path');
  const { img } = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, img);
  const held = img.namespaces.find((n) => n.holders.some((h) => h.kind === 'fd' && h.fd === 8))!;
  t.truthy(held);
  t.is(held.type, 'net');
  t.deepEqual(held.holders, [
    { kind: 'bind', pid: topo.pid, path: '/mnt/net' },
    { kind: 'fd', pid: topo.pid, fd: 8 },
  ]);
  // The same namespace as the kernel's own view of the open file.
  const { statSync } = await import('node:fs');
  t.is(held.inode, statSync(`/proc/${topo.pid}/fd/8`).ino);
});

test.serial('dump --all: every readable process of the host; what the kernel hides is counted in one line; plan knows there is no root', (t) => {
  const dir = join(tempDir(t), 'all');
  const r = nsdump(['dump', '--all', '-o', dir, '-q'], { timeout: 120_000 });
  t.is(r.code, 0, r.stderr);
  const img = show(dir);
  t.is(img.inventory.rootPid, null);
  t.true(img.processes.some((p) => p.pid === process.pid), 'this process is there');
  // PID 1 is ptrace-protected on these machines, even for root: skipped, listed, one line.
  t.true(img.inventory.unreadablePids.includes(1));
  t.false(img.processes.some((p) => p.pid === 1));
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /^nsdump: \d+ process(es)? left out, the kernel would not show/);
  // Other tests' processes come and go meanwhile; this one's links are stable.
  const me = img.processes.find((p) => p.pid === process.pid)!;
  for (const link of ['user', 'pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'time'] as const) {
    t.is(`${link}:[${img.namespaces.find((n) => n.id === me.namespaces[link])!.inode}]`, readlinkSync(`/proc/self/ns/${link}`));
  }
  const p = nsdump(['plan', dir]);
  t.is(p.code, 8);
  t.regex(p.stderr, /a whole-host image \(nsdump dump --all\) has no root process/);
});

test.serial('a user without privileges dumps its own shell and the rootless container it made, net state as root reads it', async (t) => {
  const staged = stageCli(t);
  const dir = tempDir(t);
  chmodSync(dir, 0o777);
  const uid = 61000 + (process.pid % 1000);
  const [ready, made, go] = ['ready', 'made', 'go'].map((f) => join(dir, f)) as [string, string, string];
  for (const f of [ready, made, go]) spawnSync('mkfifo', ['-m', '666', f]);
  // A hostname that is not UTF-8 (it ends in byte ff), read back through the helper as its bytes;
  // only python's sethostname takes bytes (hostname(1) refuses them, /proc/sys wants global root).
  const host = Buffer.from([...Buffer.from(`rootless-${process.pid}`), 0xff]);
  // Inside, as the container's root: links, addresses, a rule with its table, routes and sysctls
  // that differ from a fresh namespace's — what an unprivileged dumper must now read through a helper.
  const setup = [
    `/usr/bin/python3 -c "import socket; socket.sethostname(bytes([${[...host].join(',')}]))"`,
    // No IPv6 link-local addresses: their duplicate address detection would change them between the two dumps.
    'echo 1 > /proc/sys/net/ipv6/conf/default/addr_gen_mode',
    'ip link set lo up',
    'ip link add d0 type veth peer name d1',
    'ip link set d0 mtu 1400 up',
    'ip link set d1 up',
    'ip addr add 10.77.0.1/24 dev d0',
    'ip -6 addr add fd00:77::1/64 dev d0 nodad',
    'ip route add 10.78.0.0/16 via 10.77.0.2',
    'ip rule add from 10.77.0.0/24 lookup 100 prio 1000',
    'ip route add default via 10.77.0.2 table 100',
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding',
  ].join(' && ');
  const script = `
    unshare --user --map-root-user --uts --ipc --net --cgroup --pid --fork --kill-child sh -c '{ ${setup}; } || echo setup failed >&2; echo ready > ${ready}; exec sleep 100000' &
    read x < ${ready}
    echo $! > ${made}
    read x < ${go}
    ${staged.node} ${staged.cli} dump $$ -o ${dir}/img -q; echo "code=$?"
    kill -KILL $!`;
  // unshare --fork ignores SIGTERM while it waits: SIGKILL it (--kill-child then ends the
  // container), here and, by process group (setsid makes one, with its pid as its id), on teardown.
  const child = spawn('setsid', ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', 'sh', '-c', script], {
    cwd: staged.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  // The container is set up: root dumps it first (reading the fifo waits for the line, or for the
  // script's end if it failed).
  const container = Number((await readFile(made, 'utf8')).trim());
  t.true(container > 0, stderr);
  const asRoot = await dumpTree(container);
  await writeFile(go, 'go\n');
  t.is(await exited, 0, stderr);
  t.regex(stdout, /code=0/, stderr);
  // Nothing is beyond its reach now: no line on stderr.
  t.is(stderr, '');
  const img = show(join(dir, 'img'));
  const shell = img.processes.find((p) => p.comm === 'sh' && p.credentials?.uid.real === uid)!;
  t.truthy(shell, 'the shell, with its credentials');
  t.deepEqual(shell.credentials!.uid, { real: uid, effective: uid, saved: uid, fs: uid });
  const sleeper = img.processes.find((p) => p.comm === 'sleep')!;
  const ns = (id: number | null) => img.namespaces.find((n) => n.id === id)!;
  t.deepEqual(nsState(ns(sleeper.namespaces.uts), 'uts').hostname, { hex: host.toString('hex') }, 'read through its user namespace, as bytes');
  t.truthy(ns(sleeper.namespaces.ipc).state);
  t.truthy(ns(sleeper.namespaces.cgroup).state);
  t.is(ns(sleeper.namespaces.user).owner, ns(shell.namespaces.user).id);
  // The container's net state, read through a helper in its user namespace, is what root reads.
  const net = ns(sleeper.namespaces.net);
  const rootSleeper = asRoot.processes.find((p) => p.comm === 'sleep')!;
  const rootNet = asRoot.namespaces.find((n) => n.id === rootSleeper.namespaces.net)!;
  t.is(net.inode, rootNet.inode);
  t.truthy(rootNet.state);
  t.deepEqual(net.state, rootNet.state);
  const state = nsState(net, 'net');
  t.deepEqual(state.interfaces.map((i) => [i.name, i.mtu]).sort(), [['d0', 1400], ['d1', 1500], ['lo', 65536]]);
  t.true(state.interfaces.find((i) => i.name === 'd0')!.addresses.some((a) => a.address === '10.77.0.1' && a.prefixLen === 24));
  t.true(state.routes.some((r) => r.table === 100 && r.gateway === '10.77.0.2'));
  t.true(state.rules.some((r) => r.table === 100 && r.priority === 1000));
  t.is(state.sysctls['net.ipv4.ip_forward'], '1');
  t.is(state.sysctls['net.ipv6.conf.all.forwarding'], '1');
  t.regex(net.stateNote, /^links read from inside: veth peers not resolved$/);
  // The plan needs no interfaces: it refuses nothing here.
  t.is(nsdump(['plan', join(dir, 'img')]).code, 0);
});
