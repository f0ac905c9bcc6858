#!/usr/bin/env node
// Benchmark, not a test: time-to-ready of `nsdump restore --hold` against a plain unshare loop
// making the same namespaces, in the same run, alternating (these machines are shared and noisy:
// the ratio is what counts). The peer is fixtures/scale/groups.sh itself: GROUPS groups of user,
// uts, ipc, net, pid, mnt and time namespaces, 3 processes each, ready when every group said so.
// Also: `nsdump plan` of the image, the restore's peak RSS, and — where NODE_EXTRA_CA_CERTS is set,
// which makes every Node start parse a certificate bundle — the restore timed without it too. Everything it starts lives in a
// process group (or is the restore's, released by SIGTERM) and is ended, also on failure or
// Ctrl-C. Usage: node scripts/bench-restore.mjs [--groups N] [--rounds N] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const GROUPS = arg('groups', 143);
const ROUNDS = arg('rounds', 5);
const JSON_OUT = process.argv.includes('--json');
const CLI = fileURLToPath(new URL('../dist/bin/nsdump.js', import.meta.url));
const GROUPS_SH = fileURLToPath(new URL('../fixtures/scale/groups.sh', import.meta.url));

const live = new Set();
const endAll = () => {
  for (const [pid, group] of live) {
    try {
      process.kill(group ? -pid : pid, group ? 'SIGKILL' : 'SIGTERM');
    } catch {}
  }
};
process.on('exit', endAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

/** Start the unshare loop; resolves with [ms to ready, stop()]. */
function loop() {
  const t0 = process.hrtime.bigint();
  const child = spawn('sh', [GROUPS_SH, String(GROUPS)], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const entry = [child.pid, true];
  live.add(entry);
  return new Promise((resolve, reject) => {
    let seen = 0;
    child.stdout.on('data', (d) => {
      seen += (d.toString().match(/ready/g) ?? []).length;
      if (seen === GROUPS) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        resolve([ms, () => new Promise((r) => { process.kill(-child.pid, 'SIGKILL'); live.delete(entry); child.once('exit', r); })]);
      }
    });
    child.once('exit', (c) => reject(new Error(`the unshare loop exited (${c}) after ${seen} groups`)));
  });
}

/** Start `nsdump restore DIR --hold`; resolves with [ms to ready, stop() → peak RSS in KiB]. */
function restore(dir, env = process.env) {
  const t0 = process.hrtime.bigint();
  // The executable, as a user runs `nsdump`.
  const child = spawn(CLI, ['restore', dir, '--hold'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const entry = [child.pid, false];
  live.add(entry);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const rss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      resolve([ms, () => new Promise((r) => { child.kill('SIGTERM'); live.delete(entry); child.once('exit', () => r(rss)); })]);
    });
    child.once('exit', (c) => reject(new Error(`restore exited (${c}): ${err}`)));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(join(tmpdir(), 'nsdump-bench-restore-'));
try {
  // The image: one dump of the loop's tree.
  const [, stopOriginal] = await loop();
  const img = join(work, 'img');
  const orig = [...live].find(([, g]) => g)[0];
  const d = spawnSync(process.execPath, [CLI, 'dump', String(orig), '-o', img, '-q'], { encoding: 'utf8' });
  if (d.status !== 0) throw new Error(`dump failed: ${d.stderr}`);
  await stopOriginal();
  const plan = spawnSync('/usr/bin/time', ['-f', '%e %M', CLI, 'plan', img, '-f', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const [planS, planKiB] = plan.stderr.trim().split('\n').at(-1).split(' ').map(Number);

  const loopMs = [];
  const restoreMs = [];
  const ratios = [];
  // NODE_EXTRA_CA_CERTS makes every Node start read and parse that certificate file (these VMs set
  // it for their package proxy: ~46 ms of each start, for a program that makes no TLS connection);
  // the nsdump executable starts Node without it (src/model/node-env.ts). Where it is set, restore
  // is also timed without it in the environment: what a host without that setting sees.
  const bare = process.env.NODE_EXTRA_CA_CERTS ? Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS')) : null;
  const bareMs = [];
  const bareRatios = [];
  let rss = 0;
  // A warm-up round, then ROUNDS counted rounds, alternating.
  for (let i = 0; i <= ROUNDS; i++) {
    const [a, stopA] = await restore(img);
    rss = Math.max(rss, await stopA());
    const [b, stopB] = await loop();
    await stopB();
    let c = 0;
    if (bare) {
      const [ms, stopC] = await restore(img, bare);
      await stopC();
      c = ms;
    }
    if (i === 0) continue;
    restoreMs.push(a);
    loopMs.push(b);
    ratios.push(a / b);
    if (bare) {
      bareMs.push(c);
      bareRatios.push(c / b);
    }
  }
  const out = {
    groups: GROUPS,
    namespaces: GROUPS * 7,
    rounds: ROUNDS,
    restoreMs: Math.round(median(restoreMs)),
    loopMs: Math.round(median(loopMs)),
    ratio: Number(median(ratios).toFixed(2)),
    ratioRange: [Number(Math.min(...ratios).toFixed(2)), Number(Math.max(...ratios).toFixed(2))],
    restorePeakRssMiB: Math.round(rss / 1024),
    ...(bare
      ? {
          withoutExtraCaCerts: {
            restoreMs: Math.round(median(bareMs)),
            ratio: Number(median(bareRatios).toFixed(2)),
            ratioRange: [Number(Math.min(...bareRatios).toFixed(2)), Number(Math.max(...bareRatios).toFixed(2))],
          },
        }
      : {}),
    planSeconds: planS,
    planPeakRssMiB: Math.round(planKiB / 1024),
  };
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    process.stdout.write(`${out.namespaces} namespaces in ${GROUPS} groups, ${ROUNDS} rounds (medians):\n`);
    process.stdout.write(`  nsdump restore --hold, time to ready  ${out.restoreMs} ms (peak RSS ${out.restorePeakRssMiB} MiB)\n`);
    process.stdout.write(`  plain unshare loop, time to ready     ${out.loopMs} ms\n`);
    process.stdout.write(`  ratio restore/loop                    ${out.ratio} (min ${out.ratioRange[0]}, max ${out.ratioRange[1]})\n`);
    if (out.withoutExtraCaCerts) {
      const w = out.withoutExtraCaCerts;
      process.stdout.write(`  restore without NODE_EXTRA_CA_CERTS   ${w.restoreMs} ms, ratio ${w.ratio} (min ${w.ratioRange[0]}, max ${w.ratioRange[1]})\n`);
    }
    process.stdout.write(`  nsdump plan -f json                   ${out.planSeconds} s (peak RSS ${out.planPeakRssMiB} MiB)\n`);
  }
} finally {
  endAll();
  rmSync(work, { recursive: true, force: true });
}
