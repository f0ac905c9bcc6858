#!/usr/bin/env node
// Validation and planning at scale (issue 10: 100,000 namespaces validated and planned in ≤ 2 s):
// a synthetic image of N uts namespaces owned by one user namespace to create, one process in
// each, is written to a temporary directory, then read (decode, zod, image rules), checked for
// planning and planned, in-process and through `nsdump plan -f json`. Needs `npm run build`.
// Run: node scripts/bench-validate.mjs [N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const t0 = performance.now();
  const read = readImage(dir);
  const t1 = performance.now();
  validateForPlan(dir, read);
  const plan = buildPlan(read, { kernel: '6.18', pidfd: true });
  const t2 = performance.now();
  const cli = spawnSync(process.execPath, [join(root, 'dist/bin/nsdump.js'), 'plan', dir, '-f', 'json'], { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const t3 = performance.now();
  if (cli.status !== 0) throw new Error(`nsdump plan: exit ${cli.status}: ${cli.stderr}`);
  console.log(`${n} uts namespaces, ${read.processes.length} processes, ${plan.steps.length} steps: read+validate ${(t1 - t0).toFixed(0)} ms, feasibility+plan ${(t2 - t1).toFixed(0)} ms, nsdump plan -f json ${(t3 - t2).toFixed(0)} ms; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
