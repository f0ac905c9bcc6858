// Why: the CLI starts from V8's code cache made at build (src/cli/bin.ts, scripts/code-cache.mjs).
// A cache silently refused would only show as a slower start, and one accepted for the wrong bundle
// would run stale code: both are checked here, on a staged copy of dist/bin that is changed.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { CLI, ROOT } from './helpers/paths.js';
import { stageCli } from './helpers/other-uid.js';

const IMG = join(ROOT, 'fixtures/images/v1-mixed-children');

function run(cli: string, args: string[], nodeFlags: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, cli, ...args], { encoding: 'utf8', env: { ...process.env, NSDUMP_TIMING: '1' }, timeout: 60_000 });
  const said = /^nsdump: code cache (\S+): (.*)$/m.exec(r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cache: said?.[1], verdict: said?.[2] };
}

test('the bundle is strict code: "use strict" is its first statement, inside the loader\'s wrapper too', (t) => {
  // esbuild puts its own directive after the banner, where it is no directive at all.
  const bundle = join(ROOT, 'dist/bin/cli.cjs');
  const text = readFileSync(bundle, 'latin1');
  t.true(text.startsWith('"use strict";'));
  // The bundle's first line in a wrapper shaped as bin.ts's: a function called plainly there has no `this`.
  const firstLine = text.slice(0, text.indexOf('\n'));
  const probe = new vm.Script(`(function (exports, require, module, __filename, __dirname, __nsdumpImport) {${firstLine}\nreturn (function () { return this; })() === undefined;\n})`).runInThisContext() as (...a: unknown[]) => boolean;
  t.true(probe({}, createRequire(bundle), {}, bundle, dirname(bundle), undefined));
});

test('each command the build trained starts from its own code cache; others from the generic one', (t) => {
  for (const cmd of ['plan', 'show', 'diff']) {
    const r = run(CLI, cmd === 'diff' ? [cmd, IMG, IMG] : [cmd, IMG]);
    t.is(r.code, 0, r.stderr);
    t.is(r.cache, `cli.${cmd}.v8cache`);
    t.is(r.verdict, 'used');
  }
  const v = run(CLI, ['--version']);
  t.is(v.code, 0, v.stderr);
  t.deepEqual([v.cache, v.verdict], ['cli.v8cache', 'used']);
  const caps = run(CLI, ['caps', IMG, '--ns', '1']);
  t.is(caps.cache, 'cli.v8cache', caps.stderr);
});

test('a cache is not used for a bundle it was not made from, even of the same length, nor when damaged: the command works the same', (t) => {
  const want = run(CLI, ['plan', IMG, '-f', 'json']);
  t.is(want.code, 0, want.stderr);

  const staged = stageCli(t);
  const bundle = join(staged.cwd, 'dist/bin/cli.cjs');
  const text = readFileSync(bundle, 'utf8');
  t.true(text.endsWith('\n'));
  // One byte changed, the length kept: V8's own check (the length) would take the old cache.
  writeFileSync(bundle, `${text.slice(0, -1)} `);
  const changed = run(staged.cli, ['plan', IMG, '-f', 'json']);
  t.is(changed.code, 0, changed.stderr);
  t.deepEqual([changed.cache, changed.verdict], ['cli.plan.v8cache', 'not used (not made from this cli.cjs)']);
  t.is(changed.stdout, want.stdout);

  // The bundle back as built, the cache's V8 part damaged past its header.
  writeFileSync(bundle, text);
  const cache = join(staged.cwd, 'dist/bin/cli.plan.v8cache');
  const data = readFileSync(cache);
  for (let i = 200; i < data.length; i += 97) data[i] = data[i]! ^ 0xff;
  writeFileSync(cache, data);
  const damaged = run(staged.cli, ['plan', IMG, '-f', 'json']);
  t.is(damaged.code, 0, damaged.stderr);
  // V8 does not check: deserializing it would abort the process.
  t.deepEqual([damaged.cache, damaged.verdict], ['cli.plan.v8cache', 'not used (damaged)']);
  t.is(damaged.stdout, want.stdout);
});

test('V8 refuses the cache under other V8 flags, and the command works the same', (t) => {
  const want = run(CLI, ['plan', IMG, '-f', 'json']);
  const flagged = run(CLI, ['plan', IMG, '-f', 'json'], ['--max-old-space-size=1000']);
  t.is(flagged.code, 0, flagged.stderr);
  t.deepEqual([flagged.cache, flagged.verdict], ['cli.plan.v8cache', 'rejected by V8 (made by another Node, or other V8 flags)']);
  t.is(flagged.stdout, want.stdout);
});
