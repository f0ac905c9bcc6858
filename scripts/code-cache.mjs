#!/usr/bin/env node
// Makes dist/bin/cli.<command>.v8cache: V8's compiled code for the commands people run most, which
// dist/bin/nsdump.js (src/cli/bin.ts) hands to V8 so that a start compiles little. Each is made by
// running the command once, on this machine's own namespaces, with NSDUMP_CODE_CACHE_OUT set: what
// the run compiled is what its cache holds. Nothing here changes the system: the dump is of a
// `sleep` of ours, the restore recreates nothing (every namespace in that image is one of ours) and
// runs `true`. A run that fails leaves its command without a cache, said on stderr; the build goes
// on (nsdump works without, compiling as it goes). Run by `npm run build`, after bundle.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/bin/', import.meta.url));
const cli = join(bin, 'nsdump.js');
const work = mkdtempSync(join(tmpdir(), 'nsdump-code-cache-'));
// A process of ours to dump, in its own group, ended by its pid.
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
sleeper.unref();
try {
  const img = join(work, 'img');
  /** [cache name, arguments]: the run's first command word names the cache (bin.ts picks it so). */
  const runs = [
    ['cli.v8cache', ['--version']],
    ['cli.dump.v8cache', ['dump', String(sleeper.pid), '-o', img, '-q']],
    ['cli.show.v8cache', ['show', img]],
    ['cli.plan.v8cache', ['plan', img]],
    ['cli.diff.v8cache', ['diff', img, img]],
    ['cli.restore.v8cache', ['restore', img, '--', 'true']],
  ];
  for (const [name, args] of runs) {
    const out = join(bin, name);
    const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, NSDUMP_CODE_CACHE_OUT: out }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    let made = false;
    try {
      made = statSync(out).size > 0;
    } catch {}
    // A non-root restore is refused after reading and planning: its cache still holds those.
    const refusedAsNonRoot = args[0] === 'restore' && process.geteuid() !== 0;
    if (r.status !== 0 && !refusedAsNonRoot) rmSync(out, { force: true });
    if (r.status !== 0 && !refusedAsNonRoot) process.stderr.write(`code-cache: nsdump ${args.join(' ')}: exit ${r.status ?? r.signal}, no ${name}: ${r.stderr.trim().split('\n').at(-1) ?? ''}\n`);
    else if (!made) process.stderr.write(`code-cache: nsdump ${args.join(' ')} wrote no ${name}\n`);
  }
} finally {
  try {
    process.kill(-sleeper.pid, 'SIGKILL');
  } catch {}
  rmSync(work, { recursive: true, force: true });
}
