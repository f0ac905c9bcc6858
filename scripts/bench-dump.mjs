#!/usr/bin/env node
// Benchmark, not a test: everything the dump-speed issue measures, in one run, as ratios to peers
// run alternately in the same run (these machines are shared and noisy: ratios are what count).
//   1. start-up: `nsdump --version` and a one-process dump against `node -e 0` (nsdump run as the
//      executable, as a user runs it; where NODE_EXTRA_CA_CERTS is set, also with neither side given it);
//   2. at two tree sizes (GROUPS groups of new user, uts, ipc, net, pid, mnt and time namespaces
//      with SLEEPERS sleepers each): `nsdump dump` against `lsns -J` — medians, ratio, cost per
//      process, peak RSS, and system calls per process of each (strace -c, one extra run; nsdump's
//      beyond what a one-process dump makes, lsns's over every process of the host, which it reads);
//   3. `nsdump plan -f json` of a 10,000-namespace image synthesised through the library (a real
//      dump of two groups, its groups copied with fresh ids and pids until there are enough).
// Everything it starts lives in a process group of its own, killed at the end, also on failure or
// Ctrl-C. Usage: node scripts/bench-dump.mjs [--rounds N] [--sizes 85,200] [--sleepers N]
//   [--plan-namespaces N] [--only startup|trees|plan] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImage } from '../dist/src/image/read.js';
import { writeImage } from '../dist/src/image/write.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', 7));
const SIZES = String(arg('sizes', '85,200')).split(',').map(Number);
const SLEEPERS = Number(arg('sleepers', 22));
const PLAN_NS = Number(arg('plan-namespaces', 10_000));
const JSON_OUT = process.argv.includes('--json');
/** One part alone (the plan's figure without the minutes the trees take), or all three. */
const ONLY = arg('only', null);
const part = (name) => ONLY === null || ONLY === name;
const CLI = fileURLToPath(new URL('../dist/bin/nsdump.js', import.meta.url));
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const STRACE = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;

const groups = new Set();
const killAll = () => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {}
  }
  groups.clear();
};
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));
const work = mkdtempSync(join(tmpdir(), 'nsdump-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** GROUPS groups of SLEEPERS sleepers; resolves with the root's pid once every process exists. */
async function tree(n, sleepers) {
  const script = `
for i in $(seq 1 ${n}); do
  unshare --user --map-root-user --uts --ipc --net --pid --fork --mount --time sh -c '
    for j in $(seq 1 ${sleepers}); do sleep 100000 & done
    echo ready
    wait' &
done
wait`;
  const root = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  groups.add(root.pid);
  await new Promise((resolve, reject) => {
    let seen = 0;
    root.stdout.on('data', (d) => {
      seen += d.toString().split('\n').filter((l) => l === 'ready').length;
      if (seen === n) resolve();
    });
    root.once('exit', (c) => reject(new Error(`the tree's shell exited (${c}) after ${seen} groups`)));
  });
  // "ready" is printed after the sleepers are forked; their exec may still be under way: wait
  // until the tree's process count stops changing between two looks.
  const size = () => spawnSync('pgrep', ['-g', String(root.pid), '-c'], { encoding: 'utf8' }).stdout.trim();
  for (let last = '', now = size(); now !== last; last = now, now = size()) await new Promise((r) => setTimeout(r, 200));
  return { pid: root.pid, stop: () => (process.kill(-root.pid, 'SIGKILL'), groups.delete(root.pid)) };
}

function timed(argv, env = process.env) {
  const full = TIME ? [TIME, '-f', '%e %M', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const m = TIME ? /(\S+) (\d+)\s*$/.exec(r.stderr) : null;
  return { ms, rssKiB: m ? Number(m[2]) : null, stdout: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A against B, alternating which goes first; medians, the median of the pairwise ratios, peak RSS. */
function pair(a, b, rounds = ROUNDS, env = process.env) {
  const ra = [];
  const rb = [];
  timed(a(), env);
  timed(b(), env);
  for (let i = 0; i < rounds; i++) {
    if (i % 2) {
      rb.push(timed(b(), env));
      ra.push(timed(a(), env));
    } else {
      ra.push(timed(a(), env));
      rb.push(timed(b(), env));
    }
  }
  return {
    aMs: Math.round(median(ra.map((r) => r.ms))),
    bMs: Math.round(median(rb.map((r) => r.ms))),
    ratio: Number(median(ra.map((r, i) => r.ms / rb[i].ms)).toFixed(2)),
    aPeakRssKiB: TIME ? Math.max(...ra.map((r) => r.rssKiB)) : null,
    bPeakRssKiB: TIME ? Math.max(...rb.map((r) => r.rssKiB)) : null,
  };
}

/** System calls of one run of argv and its children (strace -c -f), or null without strace. */
function syscalls(argv) {
  if (!STRACE) return null;
  const out = join(work, 'strace.txt');
  const r = spawnSync('strace', ['-f', '-c', '-o', out, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`strace ${argv.join(' ')}: ${r.stderr}`);
  const total = /\s(\d+)\s+(\d+\s+)?total\s*$/m.exec(readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  return total ? Number(total[1]) : null;
}

let outN = 0;
const outDir = () => join(work, `img${outN++}`);
const dumpArgv = (pid) => () => [CLI, 'dump', String(pid), '-q', '-o', outDir()];

const res = { date: new Date().toISOString().slice(0, 10), rounds: ROUNDS, startup: {}, trees: [], plan: null };

// 1. Start-up: one sleeping process stands for `dump $$`.
if (part('startup') || part('trees')) {
  const one = spawn('sleep', ['100000'], { detached: true, stdio: 'ignore' });
  groups.add(one.pid);
  res.startup.version = pair(() => [CLI, '--version'], () => [process.execPath, '-e', '0']);
  res.startup.dumpOne = pair(dumpArgv(one.pid), () => [process.execPath, '-e', '0']);
  // NODE_EXTRA_CA_CERTS (set on these VMs) makes `node -e 0` parse a certificate bundle, which the
  // nsdump executable skips (src/model/node-env.ts): against `node -e 0` with it, nsdump gains
  // ~46 ms it did not earn. Where it is set, the pairs again with neither side given it.
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const bare = { ...process.env };
    delete bare.NODE_EXTRA_CA_CERTS;
    res.startup.bare = {
      version: pair(() => [CLI, '--version'], () => [process.execPath, '-e', '0'], ROUNDS, bare),
      dumpOne: pair(dumpArgv(one.pid), () => [process.execPath, '-e', '0'], ROUNDS, bare),
    };
  }
  // What a dump costs whatever the tree (Node, loading, writing): subtracted from the trees' counts.
  res.startup.dumpOneSyscalls = syscalls(dumpArgv(one.pid)());
  process.kill(-one.pid, 'SIGKILL');
  groups.delete(one.pid);
}

// 2. Trees.
for (const n of part('trees') ? SIZES : []) {
  const t = await tree(n, SLEEPERS);
  try {
    const dir = outDir();
    const summary = timed([CLI, 'dump', String(t.pid), '-o', dir]).stdout.trim();
    const processes = readImage(dir).processes.length;
    const namespaces = Number(/dumped (\d+) namespaces/.exec(summary)?.[1]);
    const p = pair(dumpArgv(t.pid), () => ['lsns', '-J']);
    const sysN = syscalls([CLI, 'dump', String(t.pid), '-q', '-o', outDir()]);
    const sysL = syscalls(['lsns', '-J']);
    // lsns reads every process of the host, nsdump only the tree's: per process of what each reads.
    const hostProcesses = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
    res.trees.push({
      groups: n,
      processes,
      namespaces,
      hostProcesses,
      nsdumpMs: p.aMs,
      lsnsMs: p.bMs,
      ratio: p.ratio,
      nsdumpUsPerProcess: Math.round((p.aMs * 1000) / processes),
      nsdumpPeakRssKiB: p.aPeakRssKiB,
      lsnsPeakRssKiB: p.bPeakRssKiB,
      nsdumpSyscallsPerProcess: sysN === null ? null : Number(((sysN - res.startup.dumpOneSyscalls) / (processes - 1)).toFixed(1)),
      lsnsSyscallsPerProcess: sysL === null ? null : Number((sysL / hostProcesses).toFixed(1)),
    });
  } finally {
    t.stop();
    for (const d of readdirSync(work)) rmSync(join(work, d), { recursive: true, force: true });
  }
}

// 3. Plan of a synthesised image of about PLAN_NS namespaces.
if (part('plan')) {
  const t = await tree(2, 1);
  const seed = outDir();
  try {
    timed([CLI, 'dump', String(t.pid), '-q', '-o', seed]);
  } finally {
    t.stop();
  }
  const big = outDir();
  const img = synthesise(readImage(seed), PLAN_NS);
  writeImage(big, img);
  const runs = [];
  timed([CLI, 'plan', '-f', 'json', big]);
  for (let i = 0; i < ROUNDS; i++) runs.push(timed([CLI, 'plan', '-f', 'json', big]));
  res.plan = { namespaces: img.namespaces.length, processes: img.processes.length, medianMs: Math.round(median(runs.map((r) => r.ms))), minMs: Math.round(Math.min(...runs.map((r) => r.ms))), peakRssKiB: TIME ? Math.max(...runs.map((r) => r.rssKiB)) : null };
}

/**
 * The seed's namespaces beyond the dumper's scope form groups; copy them (and their processes,
 * threads and holders) with fresh ids after the last one and fresh pids until there are `want`.
 */
function synthesise(seed, want) {
  const own = seed.namespaces.filter((n) => !n.inScope);
  const procs = seed.processes.filter((p) => p.pid !== seed.inventory.rootPid);
  const img = structuredClone(seed);
  // Above every pid and ppid of the seed: a fresh pid equal to the root's parent (outside the image)
  // would make a loop of parents, which validation rightly refuses.
  const maxPid = Math.max(...seed.processes.flatMap((p) => [p.pid, p.ppid]));
  for (let k = 1; img.namespaces.length + own.length <= want; k++) {
    const idMap = new Map(own.map((n, i) => [n.id, img.namespaces.length + i + 1]));
    const pidMap = new Map(procs.map((p, i) => [p.pid, maxPid + k * (procs.length + 1) + i]));
    const id = (x) => (x === null ? null : (idMap.get(x) ?? x));
    const pid = (x) => pidMap.get(x) ?? x;
    for (const n of own) {
      img.namespaces.push({ ...structuredClone(n), id: idMap.get(n.id), inode: n.inode + k * 100_000, nsId: n.nsId === null ? null : String(BigInt(n.nsId) + BigInt(k * 100_000)), owner: id(n.owner), parent: id(n.parent), holders: n.holders.map((h) => ({ ...h, pid: pid(h.pid) })) });
    }
    const refs = (r) => Object.fromEntries(Object.entries(r).map(([l, v]) => [l, id(v)]));
    for (const p of procs) img.processes.push({ ...structuredClone(p), pid: pid(p.pid), ppid: pid(p.ppid), nspid: [pid(p.pid), ...p.nspid.slice(1)], namespaces: refs(p.namespaces) });
    for (const th of seed.threads.filter((x) => pidMap.has(x.pid))) img.threads.push({ ...th, pid: pid(th.pid), tid: pid(th.tid), namespaces: refs(th.namespaces) });
  }
  return img;
}

killAll();
if (JSON_OUT) console.log(JSON.stringify(res));
else {
  const s = res.startup;
  console.log(`${res.date}, ${ROUNDS} rounds each, alternating order; ratios are medians of pairwise ratios`);
  if (s.version) {
    console.log(`start-up   nsdump --version    ${s.version.aMs} ms   node -e 0 ${s.version.bMs} ms   ratio ${s.version.ratio}`);
    console.log(`           dump of 1 process   ${s.dumpOne.aMs} ms   node -e 0 ${s.dumpOne.bMs} ms   ratio ${s.dumpOne.ratio} (target ≤ 1.5)`);
    if (s.bare) {
      console.log(`  without NODE_EXTRA_CA_CERTS on either side:`);
      console.log(`           nsdump --version    ${s.bare.version.aMs} ms   node -e 0 ${s.bare.version.bMs} ms   ratio ${s.bare.version.ratio}`);
      console.log(`           dump of 1 process   ${s.bare.dumpOne.aMs} ms   node -e 0 ${s.bare.dumpOne.bMs} ms   ratio ${s.bare.dumpOne.ratio} (target ≤ 1.5)`);
    }
  }
  for (const t of res.trees) {
    console.log(`tree ${t.processes} processes, ${t.namespaces} namespaces (host: ${t.hostProcesses} processes)`);
    console.log(`           nsdump dump ${t.nsdumpMs} ms (${t.nsdumpUsPerProcess} µs/process, peak RSS ${t.nsdumpPeakRssKiB ?? 'n/a'} KiB, ${t.nsdumpSyscallsPerProcess ?? 'n/a'} syscalls/process)`);
    console.log(`           lsns -J     ${t.lsnsMs} ms (peak RSS ${t.lsnsPeakRssKiB ?? 'n/a'} KiB, ${t.lsnsSyscallsPerProcess ?? 'n/a'} syscalls/process)   ratio ${t.ratio}`);
  }
  if (res.plan) console.log(`plan -f json of ${res.plan.namespaces} namespaces, ${res.plan.processes} processes: ${res.plan.medianMs} ms, min ${res.plan.minMs} (peak RSS ${res.plan.peakRssKiB ?? 'n/a'} KiB; target ≤ 1 s; load ${loadavg()[0].toFixed(1)})`);
}
