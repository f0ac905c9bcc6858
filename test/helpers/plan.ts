// Why: shared checks for plans: order (nothing made before its owner or parent, nothing missing,
// nothing twice) and running a generated sh plan for real, always released on teardown.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Image } from '../../src/model/image.js';
import type { Plan } from '../../src/plan/schema.js';
import { firstLine } from './child.js';
import { nsdump, tempDir } from './cli.js';

export function planOf(t: ExecutionContext, dir: string, extra: string[] = []): Plan {
  const r = nsdump(['plan', dir, '--format', 'json', ...extra]);
  if (r.code !== 0) throw new Error(`plan failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Plan;
}

export function assertPlanOrder(t: ExecutionContext, plan: Plan, img: Image): void {
  const made = new Map<number, number>();
  const reuse = new Set(plan.reuse);
  t.deepEqual([...reuse].sort((a, b) => a - b), img.namespaces.filter((n) => n.inScope).map((n) => n.id));
  const available = (id: number | null) => id === null || reuse.has(id) || made.has(id);
  let lastUserStep = 0;
  let firstOtherStep = Infinity;
  for (const s of plan.steps) {
    t.is(s.n, plan.steps.indexOf(s) + 1);
    if (s.op !== 'create') continue;
    for (const id of s.creates) {
      t.false(made.has(id), `${s.type}#${id} created twice`);
      t.false(reuse.has(id), `${s.type}#${id} is reused and created`);
      const n = img.namespaces[id - 1]!;
      t.is(n.type, s.type);
      t.true(available(n.owner), `step ${s.n}: ${s.type}#${id} before its owner ${n.owner}`);
      t.true(available(n.parent), `step ${s.n}: ${s.type}#${id} before its parent ${n.parent}`);
      for (const e of Object.values(s.enter)) t.true(available(e), `step ${s.n} enters ${e} before it exists`);
      made.set(id, s.n);
    }
    if (s.type === 'user') lastUserStep = s.n;
    else firstOtherStep = Math.min(firstOtherStep, s.n);
  }
  t.true(lastUserStep < firstOtherStep, 'user namespaces first');
  for (const n of img.namespaces) if (!n.inScope) t.true(made.has(n.id), `${n.type}#${n.id} never created`);
  const sets = plan.steps.filter((s) => s.op === 'spawn');
  const attaches = plan.steps.filter((s) => s.op.includes('attach'));
  t.is(attaches.length, sets.length, 'one attach step per set');
  for (const s of plan.steps) if (s.op === 'spawn') for (const [type, id] of Object.entries(s.namespaces)) t.true(available(id), `set ${s.set} uses ${type}#${id}, never made`);
}

export interface Running {
  root: number;
  sets: Record<string, number>;
  stop(): Promise<number | null>;
}

/** Run `sh plan.sh` (hold mode) and wait for its JSON line; torn down on teardown. */
export async function runShPlan(t: ExecutionContext, script: string): Promise<Running> {
  const file = join(tempDir(t), 'plan.sh');
  writeFileSync(file, script);
  const child = spawn('sh', [file], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited: Promise<number | null> = new Promise((r) => child.once('exit', (c) => r(c)));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stop = async () => {
    try {
      process.kill(child.pid!, 'SIGTERM');
    } catch {}
    const code = await exited;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
    return code;
  };
  t.teardown(stop);
  const line = await firstLine(child, exited, 'plan', 30_000, () => err);
  const j = JSON.parse(line) as { root: number; sets: Record<string, number> };
  return { ...j, stop };
}

/** Nothing of a released plan is left: no process of its tree (killed processes linger as
 *  zombies until reaped, so this waits up to 5 s). */
export async function released(run: Running, pids: number[]): Promise<boolean> {
  const gone = () => [run.root, ...pids].every((p) => !existsSync(`/proc/${p}`));
  for (let i = 0; i < 100 && !gone(); i++) await new Promise((r) => setTimeout(r, 50));
  return gone();
}
