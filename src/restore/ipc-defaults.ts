// Why: a new ipc namespace starts with the kernel's defaults, so a restore writes only the sysctls
// that differ from them (most dumped ipc namespaces have none). The defaults are read, once per
// restore, from an ipc namespace made for the purpose by util-linux `unshare` (creation never
// happens in this multi-threaded Node process).
import { execFile, spawnSync } from 'node:child_process';
import { IPC_SYSCTLS } from '../model/ipc.js';
import { sysctlPath, sysctlValue } from '../model/sysctl.js';

const FILES = IPC_SYSCTLS.map(sysctlPath);
const ARGV = ['--ipc', '--', 'cat', ...FILES];

/** Name → value as the state writer compares them (whitespace runs as one space); empty if unknown. */
function parse(ok: boolean, stdout: string): Map<string, string> {
  const lines = ok ? stdout.trim().split('\n') : [];
  return new Map(lines.length === IPC_SYSCTLS.length ? IPC_SYSCTLS.map((k, i) => [k, sysctlValue(lines[i]!)]) : []);
}

let cached: Map<string, string> | undefined;

/** The defaults, read now (preflight, before anything is made). */
export function freshIpcDefaults(): Map<string, string> {
  if (cached) return cached;
  const r = spawnSync('unshare', ARGV, { encoding: 'utf8' });
  return (cached = parse(r.status === 0, r.stdout));
}

/** The defaults, read while other work goes on (the executor, as it starts making). */
export function freshIpcDefaultsAsync(): Promise<Map<string, string>> {
  if (cached) return Promise.resolve(cached);
  return new Promise((resolve) => {
    execFile('unshare', ARGV, { encoding: 'utf8' }, (err, stdout) => resolve((cached ??= parse(!err, stdout))));
  });
}

/** The sysctls of `wanted` that a new ipc namespace does not already have (all of them when the defaults are unknown). */
export function sysctlsToWrite(wanted: [string, string][], defaults: Map<string, string>): [string, string][] {
  return wanted.filter(([k, v]) => defaults.get(k) !== v);
}
