// Why: the library's restore. The executor needs a process of its own (it becomes a child
// subreaper, reaps what is re-parented to it, and handles signals), so a program embedding nsdump
// gets a supervisor child — nsdump's own CLI — and structured events from it on a channel of their
// own (fd 3), never mixed with what anything else prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RestoreEvent } from './executor.js';
import { nodeHelperEnv } from '../model/node-env.js';

export { RestoreError, type RestoreEvent, type SetInfo } from './executor.js';

export interface RestoreOptions {
  /** Called for every process made, readiness, failure and release. */
  onEvent?: (e: RestoreEvent) => void;
  /** false: attach one namespace at a time instead of setns(pidfd). */
  pidfd?: boolean;
  /** Also bind every restored namespace as DIR/<set>/<type> (removed at release); `--bind`. */
  bind?: string;
  /** Also bind each restored network namespace as /run/netns/NAME-<set>; `--netns-prefix`. */
  netnsPrefix?: string;
  /** Do not recreate the bind mounts that held namespaces in the dump; `--no-bind`. */
  noBind?: boolean;
  /** `veth:NAME[@NETNS]=HOSTNAME`: make external veths with their other end in this network namespace. */
  external?: string[];
}

export interface Restoring {
  /** Resolves once everything is made, with the ready event (pids and /proc paths of every set). */
  ready: Promise<Extract<RestoreEvent, { event: 'ready' }>>;
  /** Resolves with the supervisor's exit code once everything is released. */
  done: Promise<number | null>;
  /** Release now (SIGTERM to the supervisor). */
  release(): void;
}

/** Defined (true) by scripts/bundle.mjs: this module then lives in dist/bin beside the bundled CLI. */
declare const NSDUMP_BUNDLED: boolean | undefined;
// The supervisor is the command line that ships with this module: dist/src/cli/main.js for the
// library, dist/bin/nsdump.js when the bundle itself runs a restore (nsdump demo).
const CLI = fileURLToPath(new URL(typeof NSDUMP_BUNDLED !== 'undefined' ? './nsdump.js' : '../cli/main.js', import.meta.url));

export function restore(dir: string, opts: RestoreOptions = {}): Restoring {
  const args = [CLI, 'restore', dir, '--hold', '--events-fd', '3'];
  if (opts.pidfd === false) args.push('--no-pidfd');
  if (opts.bind !== undefined) args.push('--bind', opts.bind);
  if (opts.netnsPrefix !== undefined) args.push('--netns-prefix', opts.netnsPrefix);
  if (opts.noBind) args.push('--no-bind');
  for (const e of opts.external ?? []) args.push('--external', e);
  // Started as the `nsdump` executable starts it: without the certificate bundle (model/node-env.ts).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: nodeHelperEnv() });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let buf = '';
  let readyResolve!: (e: Extract<RestoreEvent, { event: 'ready' }>) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<Extract<RestoreEvent, { event: 'ready' }>>((a, b) => {
    readyResolve = a;
    readyReject = b;
  });
  ready.catch(() => undefined);
  child.stdio[3]!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const e = JSON.parse(buf.slice(0, i)) as RestoreEvent;
      buf = buf.slice(i + 1);
      opts.onEvent?.(e);
      if (e.event === 'ready') readyResolve(e);
    }
  });
  const done = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      readyReject(new Error(err.trim().split('\n').at(-1) || `restore exited ${code}`));
      resolve(code);
    }),
  );
  return { ready, done, release: () => child.kill('SIGTERM') };
}
