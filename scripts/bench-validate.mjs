#!/usr/bin/env node
// Validation and planning at scale (issue 10: 100,000 namespaces validated and planned in ≤ 2 s):
// a synthetic image of N uts namespaces owned by one user namespace to create, one process in
// each, is written to a temporary directory, then read (decode, zod, image rules), checked for
// planning and planned, in a fresh Node process and through `nsdump plan -f json`. Needs `npm run build`.
// "validate+plan" is the figure: reading and validating the image, then feasibility and the
// plan, in a fresh process (the CLI's run adds Node's start-up and the JSON of every step on stdout).
// CPU time (user+system of the timing process, GC threads included) is printed beside each wall time:
// on a shared machine it moves less than the wall time does.
// With --floor, a second fresh process times what the fixed choices cost by themselves on the same
// image, for comparison with the target: protobufjs decoding every entry, zod checking the decoded
// image (as a read checks it), and a plain copy of the finished plan's objects (strings shared):
// what merely making the plan's 400,000 entries costs, before any decision.
// Run: node scripts/bench-validate.mjs [N] [--rounds R] [--floor]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeImage } from '../dist/src/image/write.js';
import { Image } from '../dist/src/model/image.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const n = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--rounds') ?? 100_000);
const ROUNDS = Number(opt('rounds', 1));
const FLOOR = args.includes('--floor');
const DIST = JSON.stringify(new URL('../dist/src/', import.meta.url).href);
/** The child's program: read (decode, zod, image rules), then feasibility and the plan, each timed. */
const TIMED = `
const [{ readImage }, { validateForPlan }, { buildPlan }] = await Promise.all(['image/read.js', 'plan/validate.js', 'plan/build.js'].map((m) => import(${DIST} + m)));
const dir = process.argv[1];
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const c0 = cpu(), t0 = performance.now();
const img = readImage(dir);
const c1 = cpu(), t1 = performance.now();
validateForPlan(dir, img);
const plan = buildPlan(img, { kernel: '6.18', pidfd: true });
const c2 = cpu(), t2 = performance.now();
process.stdout.write(JSON.stringify({ read: t1 - t0, readCpu: c1 - c0, plan: t2 - t1, planCpu: c2 - c1, processes: img.processes.length, steps: plan.steps.length, replay: plan.processes.length, heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) }));
`;
/** The floor's program: the libraries' own work on the image, and a copy of the plan, each timed. */
const FLOOR_TIMED = `
const { readFileSync } = await import('node:fs');
const [codec, { nsdump }, { Image }, { readImage, JIT_FROM_BYTES }, { buildPlan }] = await Promise.all(['image/codec.js', 'generated/image.js', 'model/image.js', 'image/read.js', 'plan/build.js'].map((m) => import(${DIST} + m)));
const dir = process.argv[1];
const files = Object.fromEntries(Object.entries(codec.FILES).map(([k, f]) => [k, readFileSync(dir + '/' + f.name)]));
const v1 = nsdump.image.v1;
const TYPE = { inventory: v1.Inventory, namespaces: v1.Namespace, processes: v1.Process, threads: v1.Thread };
const entries = Object.fromEntries(Object.keys(TYPE).map((k) => [k, codec.unframe(k, files[k]).entries]));
// protobufjs alone: every entry decoded into its message and dropped, as a read drops it.
let t0 = performance.now();
for (const k of Object.keys(TYPE)) for (const e of entries[k]) TYPE[k].decode(e);
const decode = performance.now() - t0;
// zod alone: the decoded image checked as a read checks it.
let raw = codec.decodeImage(files);
const bytes = Object.values(files).reduce((s, b) => s + b.length, 0);
t0 = performance.now();
if (!Image.safeParse(raw, { jitless: bytes < JIT_FROM_BYTES }).success) throw new Error('the image does not validate');
const zod = performance.now() - t0;
raw = null;
// The finished plan's objects made again, its strings shared: what making them costs, no decision in it.
const plan = buildPlan(readImage(dir), { kernel: '6.18', pidfd: true });
const copy = (v) => (Array.isArray(v) ? v.map(copy) : v !== null && typeof v === 'object' ? copyObject(v) : v);
function copyObject(o) { const r = {}; for (const k in o) r[k] = copy(o[k]); return r; }
t0 = performance.now();
const again = { steps: plan.steps.map(copy), processes: plan.processes.map(copy) };
const planCopy = performance.now() - t0;
process.stdout.write(JSON.stringify({ decode, zod, planCopy, entries: again.steps.length + again.processes.length }));
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
  const child = (program) => {
    const c = spawnSync(process.execPath, ['--input-type=module', '-e', program, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (c.status !== 0) throw new Error(`timing child: exit ${c.status}: ${c.stderr}`);
    return JSON.parse(c.stdout);
  };
  const ms = (wall, cpuMs) => `${wall.toFixed(0)} ms (cpu ${cpuMs.toFixed(0)})`;
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = child(TIMED);
    const t2 = performance.now();
    const cli = spawnSync(process.execPath, [join(root, 'dist/bin/nsdump.js'), 'plan', dir, '-f', 'json'], { maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    r.cli = performance.now() - t2;
    if (cli.status !== 0) throw new Error(`nsdump plan: exit ${cli.status}: ${cli.stderr}`);
    if (FLOOR) r.floor = child(FLOOR_TIMED);
    rounds.push(r);
    console.log(
      `${n} uts namespaces, ${r.processes} processes, ${r.steps} steps and ${r.replay} process steps: read+validate ${ms(r.read, r.readCpu)}, feasibility+plan ${ms(r.plan, r.planCpu)}, ` +
        `validate+plan ${ms(r.read + r.plan, r.readCpu + r.planCpu)} (target ≤ 2 s at 100,000), nsdump plan -f json ${r.cli.toFixed(0)} ms; heap after ${r.heapMiB} MiB; load ${loadavg()[0].toFixed(1)}` +
        (FLOOR ? `\n  floor: protobufjs decode alone ${r.floor.decode.toFixed(0)} ms, zod alone ${r.floor.zod.toFixed(0)} ms, a copy of the plan's ${r.floor.entries} entries ${r.floor.planCopy.toFixed(0)} ms` : ''),
    );
  }
  if (ROUNDS > 1) {
    const med = (f) => {
      const v = rounds.map(f).sort((a, b) => a - b);
      return `${v[v.length >> 1].toFixed(0)} (${v[0].toFixed(0)}–${v[v.length - 1].toFixed(0)})`;
    };
    console.log(`medians of ${ROUNDS} (min–max), ms: read+validate ${med((r) => r.read)}, feasibility+plan ${med((r) => r.plan)}, validate+plan ${med((r) => r.read + r.plan)}, nsdump plan -f json ${med((r) => r.cli)}`);
    if (FLOOR) console.log(`  floor: protobufjs decode alone ${med((r) => r.floor.decode)}, zod alone ${med((r) => r.floor.zod)}, both ${med((r) => r.floor.decode + r.floor.zod)}, plan copy ${med((r) => r.floor.planCopy)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
