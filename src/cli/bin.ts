#!/usr/bin/env node
// Why: the `nsdump` executable. Node 20 keeps no compile cache for modules (module.enableCompileCache
// is 22.1+), and compiling the command line's code was a large part of every start. So the CLI is
// bundled as one script (cli.cjs, from main.ts) and run here through vm.Script with V8's code cache
// for the command at hand: cli.<command>.v8cache, made at `npm run build` by running that command
// once (scripts/code-cache.mjs). A cache is used only for the exact bundle it was made from and
// only whole: its file starts with the SHA-256 of the bundle and of the rest (V8 checks neither:
// it compares the source's length, and deserializing damaged data aborts the process). V8 itself
// refuses a cache made by another V8 or under other flags. Without a usable cache the CLI runs the
// same, compiled as it goes.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { cacheNames } from './code-cache-name.js';

const bundle = fileURLToPath(new URL('./cli.cjs', import.meta.url));
const source = readFileSync(bundle);
const digest = createHash('sha256').update(source).digest();

/** The first of those caches that exists: its payload when it is whole and made from this bundle. */
function cacheFor(names: string[]): { name: string; data: Buffer | undefined; why: string } {
  for (const name of names) {
    let data: Buffer;
    try {
      data = readFileSync(new URL(`./${name}`, import.meta.url));
    } catch {
      continue;
    }
    const made = data.subarray(0, 32);
    const sum = data.subarray(32, 64);
    const payload = data.subarray(64);
    if (data.length <= 64 || !made.equals(digest)) return { name, data: undefined, why: 'not made from this cli.cjs' };
    if (!sum.equals(createHash('sha256').update(payload).digest())) return { name, data: undefined, why: 'damaged' };
    return { name, data: payload, why: '' };
  }
  return { name: 'none', data: undefined, why: 'no cache file' };
}

const names = cacheNames(process.argv.slice(2));
const cache = cacheFor(names);
// The bundle is ASCII (scripts/bundle.mjs refuses to build it otherwise): latin1 reads it exactly,
// into a one-byte string, ~4x faster than UTF-8.
// The wrapper CommonJS gives a module, on the bundle's first line so that line numbers stay true,
// and one more argument: Node 20 runs no import() inside a vm.Script without
// --experimental-vm-modules, so the one ES module the bundle leaves outside (@viz-js/viz, for
// --format svg) is imported here, when the bundle asks (scripts/bundle.mjs).
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __nsdumpImport) {${source.toString('latin1')}\n})`, {
  filename: bundle,
  cachedData: cache.data,
});
// NSDUMP_TIMING=1 (timing.ts) says whether the start had compiled code, and if not why.
if (process.env.NSDUMP_TIMING) process.stderr.write(`nsdump: code cache ${cache.name}: ${cache.data === undefined ? `not used (${cache.why})` : script.cachedDataRejected ? 'rejected by V8 (made by another Node, or other V8 flags)' : 'used'}\n`);
// scripts/code-cache.mjs: once the command is over, V8's code for everything it compiled, written
// as this command's cache beside the bundle — only there, whatever the environment says (an
// nsdump run through `sudo -E` must not write where a variable points). Not passed on: a child
// nsdump (restore's supervisor, in demo) would overwrite this run's cache.
const write = process.env.NSDUMP_CODE_CACHE_WRITE === '1';
delete process.env.NSDUMP_CODE_CACHE_WRITE;
if (write) {
  process.once('exit', () => {
    const payload = script.createCachedData();
    writeFileSync(new URL(`./${names[0]}`, import.meta.url), Buffer.concat([digest, createHash('sha256').update(payload).digest(), payload]));
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL('.', import.meta.url)), (specifier: string) => import(specifier));
