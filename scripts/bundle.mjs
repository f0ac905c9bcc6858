#!/usr/bin/env node
// Bundles the compiled command line (dist/src) into dist/bin: a few minified ES modules instead of
// ~150 files, because resolving and compiling module by module was most of a short command's
// start-up (`dump $$`: start 204 → ~130 ms). Commands stay separate chunks, loaded when used.
// koffi stays outside: it is a native addon, found in node_modules at run time; so does @viz-js/viz
// (Graphviz as ~1 MB of WebAssembly, imported only by `--format svg`). Run by `npm run build`.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(top, 'dist', 'bin');
rmSync(outdir, { recursive: true, force: true });
await build({
  // The state writer is a program of its own that restore spawns by path, next to its chunks
  // (executor.ts resolves './state-writer.js' from its own module, which lands in this directory).
  // So is the dump's disposable namespace-reader thread (src/kernel/ns-thread.ts loads
  // './ns-thread-worker.js' beside itself).
  entryPoints: {
    nsdump: join(top, 'dist/src/cli/main.js'),
    'state-writer': join(top, 'dist/src/restore/state-writer.js'),
    'ns-thread-worker': join(top, 'dist/src/kernel/ns-thread-worker.js'),
    // And the reader a dump runs inside a rootless container's namespaces (src/discover/helper.ts
    // loads './ns-reader.js' beside itself).
    'ns-reader': join(top, 'dist/src/discover/ns-reader.js'),
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Plan rules are named by their functions' names in messages ([sysctlsAreKnown]); keep them.
  keepNames: true,
  external: ['koffi', '@viz-js/viz'],
  // Modules that find a sibling program by path (src/restore/run.ts) ask whether they are bundled.
  define: { NSDUMP_BUNDLED: 'true' },
  chunkNames: 'chunk-[hash]',
  // Bundled CommonJS (protobufjs, yargs' helpers) may call require(); ESM has none of its own.
  banner: { js: "import{createRequire as __nsdumpRequire}from'node:module';const require=__nsdumpRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(join(outdir, 'nsdump.js'), 0o755);
