// Why: nsdump restore carries out its own plan: the sh rendering, run by a single-threaded sh
// (Node cannot change user, mount, time or pid namespaces in-process). This process becomes a
// child subreaper so that the plan's placeholders stay its descendants once their waiting parents
// are gone; the script gets SIGTERM if we die (setpriv --pdeathsig) and then releases everything.
import { spawn } from 'node:child_process';
import { becomeSubreaper } from '../kernel/ffi.js';
import type { Image } from '../model/image.js';
import type { Plan } from '../plan/schema.js';
import { renderSh } from '../plan/render-sh.js';

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export type RestoreEvent =
  | { event: 'step'; n: number; of: number; op: string; summary: string }
  | { event: 'ready'; root: number; script: number; rootSet: number; sets: Record<string, number> }
  | { event: 'failed'; n: number; summary: string; reason: string }
  | { event: 'released'; code: number | null };

export interface RestoreOptions {
  /** Run this command in the dumped root's namespaces, then release; exit with its status. */
  command?: string[];
  /** Called for every step begun, readiness, failure and release. */
  onEvent?: (e: RestoreEvent) => void;
  /** Lines the script or the tools it runs wrote to stderr (reasons, the command's own stderr). */
  onStderr?: (line: string) => void;
}

export interface Restoring {
  /** Resolves once everything is made (hold mode) with the ready event. */
  ready: Promise<Extract<RestoreEvent, { event: 'ready' }>>;
  /** Resolves with the script's exit code once everything is released. */
  done: Promise<number | null>;
  /** Release now (SIGTERM to the script, which ends every placeholder and holder). */
  release(): void;
}

export function restore(plan: Plan, img: Image, dir: string, opts: RestoreOptions = {}): Restoring {
  becomeSubreaper();
  const script = renderSh(plan, img, dir);
  const args = ['--pdeathsig', 'TERM', '--', 'sh', '-c', script, 'nsdump-restore'];
  if (opts.command) args.push('--', ...opts.command);
  const child = spawn('setpriv', args, {
    stdio: ['inherit', opts.command ? 'inherit' : 'pipe', 'pipe'],
    env: { ...process.env, NSDUMP_PROGRESS: '1', NSDUMP_REAPER: '1' },
  });
  const emit = (e: RestoreEvent) => opts.onEvent?.(e);
  let current = 0;
  const recent: string[] = [];
  let failure: { n: number; reason: string } | undefined;
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    let i;
    while ((i = err.indexOf('\n')) >= 0) {
      const line = err.slice(0, i);
      err = err.slice(i + 1);
      const step = /^@nsdump-step (\d+)$/.exec(line);
      if (step) {
        current = Number(step[1]);
        const s = plan.steps[current - 1]!;
        emit({ event: 'step', n: current, of: plan.steps.length, op: s.op, summary: s.summary });
        continue;
      }
      const fail = /^nsdump plan: step (\d+): (.*)$/.exec(line);
      if (fail) {
        failure = { n: Number(fail[1]), reason: [...recent.slice(-2), fail[2]!].join('; ') };
        continue;
      }
      recent.push(line);
      opts.onStderr?.(line);
    }
  });
  // 'close', not 'exit': only then has all of stderr been read (the failure line may be last).
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const ready = new Promise<Extract<RestoreEvent, { event: 'ready' }>>((resolve, reject) => {
    if (child.stdout) {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const i = out.indexOf('\n');
        if (i < 0) return;
        const j = JSON.parse(out.slice(0, i)) as { root: number; rootSet: number; sets: Record<string, number> };
        const e = { event: 'ready' as const, root: process.pid, script: j.root, rootSet: j.rootSet, sets: j.sets };
        emit(e);
        resolve(e);
      });
    }
    void done.then((code) => {
      if (failure) {
        const s = plan.steps[failure.n - 1];
        emit({ event: 'failed', n: failure.n, summary: s?.summary ?? '', reason: failure.reason });
        reject(new RestoreError(`step ${failure.n} (${s?.summary ?? 'setup'}): ${failure.reason}`));
      } else if (!opts.command) {
        reject(new RestoreError(`the plan ended (exit ${code}) before it was ready${recent.length ? `: ${recent.slice(-2).join('; ')}` : ''}`));
      }
      emit({ event: 'released', code });
    });
  });
  ready.catch(() => undefined);
  return {
    ready,
    done: done.then((code) => {
      if (failure) throw new RestoreError(`step ${failure.n} (${plan.steps[failure.n - 1]?.summary ?? 'setup'}): ${failure.reason}`);
      return code;
    }),
    release: () => {
      child.kill('SIGTERM');
    },
  };
}
