#!/usr/bin/env node
// Benchmark, not a test: `nsdump dump` of a large tree against `lsns -J` in the same run.
// Builds GROUPS groups, each an unshare'd set of new user, uts, ipc, net, pid, mnt and time
// namespaces holding SLEEPERS sleeping processes (defaults: 85 × 7 + 8 initial ≈ 600 namespaces,
// 85 × 24 ≈ 2,040 processes), then alternates the two commands for ROUNDS rounds and reports
// medians, their ratio and peak RSS. Everything it starts lives in one process group, killed at
// the end, also on failure or Ctrl-C. Usage: node scripts/bench-dump.mjs [--rounds N] [--groups N] [--sleepers N] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 7);
const GROUPS = arg('groups', 85);
const SLEEPERS = arg('sleepers', 22);
const JSON_OUT = process.argv.includes('--json');
const CLI = fileURLToPath(new URL('../dist/bin/nsdump.js', import.meta.url));
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const script = `
for i in $(seq 1 ${GROUPS}); do
  unshare --user --map-root-user --uts --ipc --net --pid --fork --mount --time sh -c '
    for j in $(seq 1 ${SLEEPERS}); do sleep 100000 & done
    echo ready
    wait' &
done
wait`;
const root = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
const kill = () => {
  try {
    process.kill(-root.pid, 'SIGKILL');
  } catch {}
};
process.on('exit', kill);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

await new Promise((resolve, reject) => {
  let n = 0;
  root.stdout.on('data', (d) => {
    n += d.toString().split('\n').filter((l) => l === 'ready').length;
    if (n === GROUPS) resolve();
  });
  root.once('exit', (c) => reject(new Error(`topology exited ${c}`)));
});
// The sleepers of the last group may still be forking: wait until the count settles.
const count = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
for (let last = -1, now = count(); now !== last; last = now, now = count()) await new Promise((r) => setTimeout(r, 300));

const work = mkdtempSync(join(tmpdir(), 'nsdump-bench-'));
function timed(cmd, args) {
  const full = TIME ? [TIME, '-f', '%e %M', cmd, ...args] : [cmd, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  const m = TIME ? /(\S+) (\d+)\s*$/.exec(r.stderr) : null;
  return { wall, rssKiB: m ? Number(m[2]) : null, stdout: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = { nsdump: [], lsns: [] };
let summary = '';
try {
  for (let i = 0; i < ROUNDS; i++) {
    const out = join(work, `img${i}`);
    const order = i % 2 ? ['lsns', 'nsdump'] : ['nsdump', 'lsns'];
    for (const which of order) {
      if (which === 'nsdump') {
        const r = timed(process.execPath, [CLI, 'dump', String(root.pid), '-o', out]);
        summary = r.stdout.trim();
        rows.nsdump.push(r);
      } else {
        rows.lsns.push(timed('lsns', ['-J']));
      }
    }
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const res = {
  processes: count(),
  namespaces: Number(/dumped (\d+) namespaces/.exec(summary)?.[1]),
  rounds: ROUNDS,
  nsdumpMedianMs: Math.round(median(rows.nsdump.map((r) => r.wall))),
  lsnsMedianMs: Math.round(median(rows.lsns.map((r) => r.wall))),
  nsdumpPeakRssKiB: TIME ? Math.max(...rows.nsdump.map((r) => r.rssKiB)) : null,
  lsnsPeakRssKiB: TIME ? Math.max(...rows.lsns.map((r) => r.rssKiB)) : null,
};
res.ratio = Number((res.nsdumpMedianMs / res.lsnsMedianMs).toFixed(2));
if (JSON_OUT) console.log(JSON.stringify(res));
else {
  console.log(`tree: ${summary}`);
  console.log(`host: ${res.processes} processes in /proc; ${ROUNDS} rounds, alternating order`);
  console.log(`nsdump dump  median ${res.nsdumpMedianMs} ms   peak RSS ${res.nsdumpPeakRssKiB ?? 'n/a'} KiB`);
  console.log(`lsns -J      median ${res.lsnsMedianMs} ms   peak RSS ${res.lsnsPeakRssKiB ?? 'n/a'} KiB`);
  console.log(`ratio nsdump/lsns: ${res.ratio} (target: at most 0.5)${TIME ? '' : '  (install GNU time for RSS)'}`);
}
kill();
