#!/usr/bin/env node
// Validation and planning at scale (issue 10: 100,000 namespaces validated and planned in ≤ 2 s):
// a synthetic image of N uts namespaces owned by one user namespace to create, one process in
// each, is written to a temporary directory, then read (decode, zod, image rules), checked for
// planning and planned, in a fresh Node process and through `nsdump plan -f json`. Needs `npm run build`.
// "validate+plan" is the figure: reading and validating the image, then feasibility and the
// plan, in a fresh process (the CLI's run adds Node's start-up and the JSON of every step on stdout).
// CPU time (user+system of the timing process, GC threads included) is printed beside each wall time:
// on a shared machine it moves less than the wall time does.
// Run: node scripts/bench-validate.mjs [N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeImage } from '../dist/src/image/write.js';
import { Image } from '../dist/src/model/image.js';

const n = Number(process.argv[2] ?? 100_000);
/** The child's program: read (decode, zod, image rules), then feasibility and the plan, each timed. */
const TIMED = `
const [{ readImage }, { validateForPlan }, { buildPlan }] = await Promise.all(['image/read.js', 'plan/validate.js', 'plan/build.js'].map((m) => import(${JSON.stringify(new URL('../dist/src/', import.meta.url).href)} + m)));
const dir = process.argv[1];
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const c0 = cpu(), t0 = performance.now();
const img = readImage(dir);
const c1 = cpu(), t1 = performance.now();
validateForPlan(dir, img);
const plan = buildPlan(img, { kernel: '6.18', pidfd: true });
const c2 = cpu(), t2 = performance.now();
process.stdout.write(JSON.stringify({ read: t1 - t0, readCpu: c1 - c0, plan: t2 - t1, planCpu: c2 - c1, processes: img.processes.length, steps: plan.steps.length, heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) }));
`;
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
  // Timed in a fresh process: the one that built the image holds it all (~550 MiB of heap), which
  // would make every collection here slower than a real `nsdump plan` has it.
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', TIMED, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`timing child: exit ${child.status}: ${child.stderr}`);
  const r = JSON.parse(child.stdout);
  const t2 = performance.now();
  const cli = spawnSync(process.execPath, [join(root, 'dist/bin/nsdump.js'), 'plan', dir, '-f', 'json'], { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const t3 = performance.now();
  if (cli.status !== 0) throw new Error(`nsdump plan: exit ${cli.status}: ${cli.stderr}`);
  const ms = (wall, cpuMs) => `${wall.toFixed(0)} ms (cpu ${cpuMs.toFixed(0)})`;
  console.log(
    `${n} uts namespaces, ${r.processes} processes, ${r.steps} steps: read+validate ${ms(r.read, r.readCpu)}, feasibility+plan ${ms(r.plan, r.planCpu)}, ` +
      `validate+plan ${ms(r.read + r.plan, r.readCpu + r.planCpu)} (target ≤ 2 s at 100,000), nsdump plan -f json ${(t3 - t2).toFixed(0)} ms; heap after ${r.heapMiB} MiB; load ${loadavg()[0].toFixed(1)}`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
