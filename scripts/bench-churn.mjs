#!/usr/bin/env node
// Benchmark, not a test: dumping a tree that never holds still, and stopping a dump midway.
//   1. fixtures/topologies/churn.sh GROUPS (default 84: ~2,000 processes, each group starting a
//      short-lived process every 0.4 s from three loops, one in uts+ipc namespaces of its own):
//      DUMPS dumps with --freeze and DUMPS without — how many succeed (exit 0), the exit codes of
//      the rest, median time; after each --freeze dump, whether anything of the tree is left stopped;
//   2. SIGTERM to a dump of that tree after DELAY ms: how long until it has ended (by the signal),
//      and whether it left a temporary directory or a stopped process behind (with --freeze).
// The tree lives in a process group of its own, killed at the end, also on failure or Ctrl-C.
// Usage: node scripts/bench-churn.mjs [--groups N] [--dumps N] [--delay MS] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const GROUPS = arg('groups', 84);
const DUMPS = arg('dumps', 20);
const DELAY = arg('delay', 300);
const JSON_OUT = process.argv.includes('--json');
const CLI = fileURLToPath(new URL('../dist/bin/nsdump.js', import.meta.url));
const CHURN = fileURLToPath(new URL('../fixtures/topologies/churn.sh', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'nsdump-bench-churn-'));
const tree = spawn('sh', [CHURN, String(GROUPS)], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
const end = () => {
  try {
    process.kill(-tree.pid, 'SIGKILL');
  } catch {}
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', end);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));
await new Promise((resolve, reject) => {
  tree.stdout.on('data', (d) => d.toString().includes('ready') && resolve());
  tree.once('exit', (c) => reject(new Error(`churn.sh exited (${c})`)));
});

/** Pids of the tree now (its process group), and those of them stopped (state T). */
function members() {
  const pids = spawnSync('pgrep', ['-g', String(tree.pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  const stopped = pids.filter((p) => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) === 'T';
    } catch {
      return false;
    }
  });
  return { count: pids.length, stopped };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let n = 0;
function dumpOnce(extra) {
  const out = join(work, `img${n++}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, 'dump', String(tree.pid), '-q', '-o', out, ...extra], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(out, { recursive: true, force: true });
  return { code: r.status, ms, err: r.stderr.trim().split('\n').at(-1) ?? '' };
}

const res = { date: new Date().toISOString().slice(0, 10), groups: GROUPS, processes: 0, dumps: DUMPS };
for (const [name, extra] of [['freeze', ['--freeze']], ['plain', []]]) {
  const runs = [];
  let leftStopped = 0;
  for (let i = 0; i < DUMPS; i++) {
    runs.push(dumpOnce(extra));
    if (extra.length) leftStopped += members().stopped.length;
  }
  const codes = {};
  for (const r of runs) codes[r.code] = (codes[r.code] ?? 0) + 1;
  res.processes = Math.max(res.processes, members().count);
  res[name] = { ok: runs.filter((r) => r.code === 0).length, codes, medianMs: Math.round(median(runs.map((r) => r.ms))), leftStopped, lastError: runs.find((r) => r.code !== 0)?.err ?? '' };
}

// SIGTERM midway, with --freeze: the worst case (what it stopped must be resumed).
const stops = [];
for (let i = 0; i < 5; i++) {
  const out = join(work, `term${i}`);
  const child = spawn(process.execPath, [CLI, 'dump', String(tree.pid), '-q', '--freeze', '-o', out], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, DELAY));
  const t0 = process.hrtime.bigint();
  child.kill('SIGTERM');
  const [code, sig] = await new Promise((r) => child.once('exit', (c, s) => r([c, s])));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const leftovers = readdirSync(work).filter((f) => f.includes(`term${i}`));
  stops.push({ ms, ended: sig ?? `exit ${code}`, leftovers: leftovers.length, stopped: members().stopped.length });
  for (const f of leftovers) rmSync(join(work, f), { recursive: true, force: true });
}
res.sigterm = { delayMs: DELAY, medianMs: Math.round(median(stops.map((s) => s.ms))), maxMs: Math.round(Math.max(...stops.map((s) => s.ms))), ended: stops.map((s) => s.ended), leftovers: stops.reduce((a, s) => a + s.leftovers, 0), leftStopped: stops.reduce((a, s) => a + s.stopped, 0) };

end();
if (JSON_OUT) console.log(JSON.stringify(res));
else {
  console.log(`${res.date}: churn.sh ${GROUPS} (about ${res.processes} processes), ${DUMPS} dumps each`);
  for (const k of ['freeze', 'plain']) {
    const r = res[k];
    console.log(`  dump ${k === 'freeze' ? '--freeze' : '(no freeze)'}: ${r.ok}/${DUMPS} exit 0 ${JSON.stringify(r.codes)}, median ${r.medianMs} ms${k === 'freeze' ? `, processes left stopped afterwards: ${r.leftStopped}` : ''}${r.lastError ? `; last failure: ${r.lastError}` : ''}`);
  }
  const s = res.sigterm;
  console.log(`  SIGTERM ${s.delayMs} ms into a --freeze dump: ended in median ${s.medianMs} ms (max ${s.maxMs}) by ${[...new Set(s.ended)].join(', ')}; temporary directories left: ${s.leftovers}; processes left stopped: ${s.leftStopped}`);
}
