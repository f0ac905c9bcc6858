#!/usr/bin/env node
// Validation and planning at scale (issue 10: 100,000 namespaces validated and planned in ≤ 2 s):
// a synthetic image of N uts namespaces owned by one user namespace to create, one process in
// each, is written to a temporary directory, then read (decode, zod, image rules), checked for
// planning and planned, in-process and through `nsdump plan -f json`. Needs `npm run build`.
// "validate+plan" is the figure: reading and validating the image, then feasibility and the
// plan, in one process (the CLI's run adds Node's start-up and the JSON of every step on stdout).
// CPU time (user+system of this process, GC threads included) is printed beside each wall time:
// on a shared machine it moves less than the wall time does.
// Run: node scripts/bench-validate.mjs [N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../dist/src/image/read.js';
import { writeImage } from '../dist/src/image/write.js';
import { Image } from '../dist/src/model/image.js';
import { buildPlan } from '../dist/src/plan/build.js';
import { validateForPlan } from '../dist/src/plan/validate.js';

const n = Number(process.argv[2] ?? 100_000);
const root = new URL('../', import.meta.url).pathname;
const img = Image.parse(JSON.parse(readFileSync(join(root, 'fixtures/bad-images/base.json'), 'utf8')));
const uts = img.namespaces[10];
const proc = img.processes[0];
for (let i = 0; i < n; i++) {
  const id = img.namespaces.length + 1;
  img.namespaces.push({ ...structuredClone(uts), id, inode: 5_000_000 + i, nsId: null, state: { hostname: `h${i}`, domainname: '(none)' } });
  img.processes.push({ ...structuredClone(proc), pid: 1000 + i, ppid: proc.pid, nspid: [1000 + i, 2 + i], namespaces: { ...proc.namespaces, uts: id } });
}
const tmp = mkdtempSync(join(tmpdir(), 'nsdump-bench-validate-'));
try {
  const dir = join(tmp, 'img');
  writeImage(dir, img);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const c0 = cpu();
  const t0 = performance.now();
  const read = readImage(dir);
  const t1 = performance.now();
  const c1 = cpu();
  validateForPlan(dir, read);
  const plan = buildPlan(read, { kernel: '6.18', pidfd: true });
  const t2 = performance.now();
  const c2 = cpu();
  const cli = spawnSync(process.execPath, [join(root, 'dist/bin/nsdump.js'), 'plan', dir, '-f', 'json'], { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const t3 = performance.now();
  if (cli.status !== 0) throw new Error(`nsdump plan: exit ${cli.status}: ${cli.stderr}`);
  const ms = (wall, cpuMs) => `${wall.toFixed(0)} ms (cpu ${cpuMs.toFixed(0)})`;
  console.log(
    `${n} uts namespaces, ${read.processes.length} processes, ${plan.steps.length} steps: read+validate ${ms(t1 - t0, c1 - c0)}, feasibility+plan ${ms(t2 - t1, c2 - c1)}, ` +
      `validate+plan ${ms(t2 - t0, c2 - c0)} (target ≤ 2 s at 100,000), nsdump plan -f json ${(t3 - t2).toFixed(0)} ms; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB; load ${loadavg()[0].toFixed(1)}`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
