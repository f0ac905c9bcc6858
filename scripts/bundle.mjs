#!/usr/bin/env node
// Bundles the compiled command line (dist/src) into dist/bin, because resolving and compiling ~150
// modules one by one was most of a short command's start-up (`dump $$`: start 204 → ~130 ms).
// - The CLI (main.ts and all it loads) is one CommonJS script, cli.cjs, that dist/bin/nsdump.js
//   (bin.ts) runs with V8's code cache (scripts/code-cache.mjs makes the caches). One script, not
//   ES modules: Node 20 caches compiled code only for a vm.Script. Modules a command loads with
//   import() stay unevaluated until used.
// - The programs restore and dump start by path (state writer, namespace-reader thread, ns-reader)
//   and the nsdump.js entry are ES modules, with shared chunks.
// koffi stays outside: it is a native addon, found in node_modules at run time; so does @viz-js/viz
// (Graphviz as ~1 MB of WebAssembly, imported only by `--format svg`). Run by `npm run build`.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRAMPOLINE } from '../dist/src/model/node-env.js';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(top, 'dist', 'bin');
rmSync(outdir, { recursive: true, force: true });
await build({
  // The state writer is a program of its own that restore spawns by path, next to its chunks
  // (executor.ts resolves './state-writer.js' from its own module, which lands in this directory).
  // So is the dump's disposable namespace-reader thread (src/kernel/ns-thread.ts loads
  // './ns-thread-worker.js' beside itself).
  entryPoints: {
    nsdump: join(top, 'dist/src/cli/bin.js'),
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
  // No keepNames: it wraps every function the minifier renames in a call that sets its name, also
  // each closure as it is made (~2-3% of a one-process dump and of planning 10,000 namespaces). What
  // a message names — rules, errors — is named in tables and fields, not by Function.name.
  external: ['koffi', '@viz-js/viz'],
  // Modules that find a sibling program by path (src/restore/run.ts) ask whether they are bundled.
  define: { NSDUMP_BUNDLED: 'true' },
  chunkNames: 'chunk-[hash]',
  // Bundled CommonJS (protobufjs, yargs' helpers) may call require(); ESM has none of its own.
  banner: { js: "import{createRequire as __nsdumpRequire}from'node:module';const require=__nsdumpRequire(import.meta.url);" },
  logLevel: 'warning',
});
await build({
  entryPoints: { cli: join(top, 'dist/src/cli/main.js') },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // NSDUMP_NOMINIFY=1 keeps the names readable, for a CPU profile of the CLI (whitespace still
  // goes: it takes the comments, which are not ASCII, with it).
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: !process.env.NSDUMP_NOMINIFY,
  // Every character outside ASCII escaped (esbuild cannot in a regular expression or String.raw:
  // the sources write those in ASCII), so that bin.ts reads the bundle as latin1 into a one-byte
  // string: ~4x faster than decoding UTF-8, and half the memory for V8 to scan.
  charset: 'ascii',
  external: ['koffi'],
  // A script can run no import() of its own (bin.ts): @viz-js/viz becomes a module of one function
  // that has bin.ts import it.
  plugins: [
    {
      name: 'outside',
      setup(b) {
        b.onResolve({ filter: /^@viz-js\/viz$/ }, (a) => ({ path: a.path, namespace: 'outside' }));
        b.onLoad({ filter: /.*/, namespace: 'outside' }, () => ({
          contents: "export const instance = (...a) => __nsdumpImport('@viz-js/viz').then((m) => m.instance(...a));",
          loader: 'js',
        }));
      },
    },
  ],
  // bin.ts passes the wrapper's require and __filename: import.meta.url is the bundle's own URL, so
  // that siblings found by path (state-writer.js, ns-thread-worker.js, ns-reader.js, nsdump.js) resolve.
  define: { NSDUMP_BUNDLED: 'true', 'import.meta.url': '__nsdumpUrl' },
  // "use strict" first: the directive must be the script's first statement (esbuild's own comes
  // after the banner), or the whole CLI would run in sloppy mode inside bin.ts's wrapper.
  banner: { js: `"use strict";var __nsdumpUrl=require('node:url').pathToFileURL(__filename).href;` },
  logLevel: 'warning',
});
const nonAscii = readFileSync(join(outdir, 'cli.cjs')).findIndex((b) => b > 0x7f);
if (nonAscii >= 0) throw new Error(`dist/bin/cli.cjs: byte ${nonAscii} is not ASCII (bin.ts reads it as latin1): write that character as an escape in the source`);
// The executable's first line: a shell that starts Node without NODE_EXTRA_CA_CERTS (see
// src/model/node-env.ts: ~46 ms of every start where it is set); Node reads the rest.
const entry = join(outdir, 'nsdump.js');
const text = readFileSync(entry, 'utf8');
if (!text.startsWith('#!/usr/bin/env node\n')) throw new Error('dist/bin/nsdump.js: expected the #!/usr/bin/env node line of bin.ts first');
writeFileSync(entry, `${TRAMPOLINE}\n${text.slice(text.indexOf('\n') + 1)}`);
chmodSync(entry, 0o755);
