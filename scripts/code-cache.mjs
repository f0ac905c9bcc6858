#!/usr/bin/env node
// Makes dist/bin/cli.<command>.v8cache: V8's compiled code for the commands people run most, which
// dist/bin/nsdump.js (src/cli/bin.ts) hands to V8 so that a start compiles little. Each is made by
// running the command once, on this machine's own namespaces, with NSDUMP_CODE_CACHE_WRITE=1: what
// the run compiled is what its cache holds. Nothing here changes the system: the dump is of a
// `sleep` of ours, the restore recreates nothing (every namespace in that image is one of ours) and
// runs `true`. NODE_OPTIONS is left out of the runs: V8 refuses a cache made under other flags, and
// nsdump is run without the build's. A run that fails leaves its command without a cache, said on
// stderr; so does a cache V8 then refuses. The build goes on either way (nsdump works without,
// compiling as it goes). Run by `npm run build`, after bundle.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheNames } from '../dist/src/cli/code-cache-name.js';

const bin = fileURLToPath(new URL('../dist/bin/', import.meta.url));
const cli = join(bin, 'nsdump.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('NSDUMP_')));
const work = mkdtempSync(join(tmpdir(), 'nsdump-code-cache-'));
// A process of ours to dump; setpriv's parent-death signal ends it with us, however we end.
const sleeper = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'sleep', '600'], { stdio: 'ignore' });
let running = null;
const cleanUp = () => {
  for (const c of [running, sleeper]) {
    try {
      if (c && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
    } catch {}
  }
  rmSync(work, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanUp();
    process.exit(128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig]);
  });
}

/** Run nsdump with `args`; resolves with its exit status (a signal as 128+n) and its stderr. */
function nsdump(args, extra = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
    running = child;
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running = null;
      resolve({ code: code ?? 128, signal, err });
    });
  });
}

try {
  const img = join(work, 'img');
  const runs = [['--version'], ['dump', String(sleeper.pid), '-o', img, '-q'], ['show', img], ['plan', img], ['diff', img, img], ['restore', img, '--', 'true']];
  for (const args of runs) {
    // The cache the run writes: the one the loader picks for it.
    const name = cacheNames(args)[0];
    const out = join(bin, name);
    const r = await nsdump(args, { NSDUMP_CODE_CACHE_WRITE: '1' });
    // A non-root restore is refused after reading and planning: its cache still holds those.
    const refusedAsNonRoot = args[0] === 'restore' && process.geteuid() !== 0;
    if (r.code !== 0 && !refusedAsNonRoot) {
      rmSync(out, { force: true });
      process.stderr.write(`code-cache: nsdump ${args.join(' ')}: exit ${r.signal ?? r.code}, no ${name}: ${r.err.trim().split('\n').at(-1) ?? ''}\n`);
      continue;
    }
    let size = 0;
    try {
      size = statSync(out).size;
    } catch {}
    if (!size) {
      process.stderr.write(`code-cache: nsdump ${args.join(' ')} wrote no ${name}\n`);
      continue;
    }
    // Taken, as the command will be run? (The timing line says; --version is enough to ask.)
    const check = await nsdump(args[0] === '--version' ? ['--version'] : [args[0], '--help'], { NSDUMP_TIMING: '1' });
    const said = /^nsdump: code cache (\S+): (.*)$/m.exec(check.err);
    if (said?.[1] === name && said[2] !== 'used') process.stderr.write(`code-cache: ${name} is not taken: ${said[2]}\n`);
  }
} finally {
  cleanUp();
}
