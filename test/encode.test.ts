// nsdump encode: `show --json` back into an image, byte for byte; and the JSON Schema of images.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { FILES, type FileKind } from '../src/image/codec.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

const KINDS = Object.keys(FILES) as FileKind[];

for (const name of ['three-levels', 'net-veth-pair', 'holders', 'time-for-children']) {
  test(`${name}: dump, show --json, encode: the same bytes in every file`, async (t) => {
    const topo = await startTopology(t, name);
    const { dir } = dumpToJson(t, topo.pid);
    const shown = nsdump(['show', dir, '-J']);
    t.is(shown.code, 0, shown.stderr);
    const work = tempDir(t);
    const json = join(work, 'image.json');
    writeFileSync(json, shown.stdout);
    const back = join(work, 'back');
    const r = nsdump(['encode', json, back]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, '');
    for (const k of KINDS) t.true(readFileSync(join(dir, FILES[k].name)).equals(readFileSync(join(back, FILES[k].name))), FILES[k].name);
    t.is(nsdump(['show', back, '--json']).stdout, shown.stdout);
  });
}

test('encode refuses what is not an image, one line each, and writes nothing', async (t) => {
  const work = tempDir(t);
  const bad = join(work, 'bad.json');
  writeFileSync(bad, '{"inventory": {"formatVersion": 1}}');
  const r = nsdump(['encode', bad, join(work, 'out')]);
  t.is(r.code, 3);
  t.regex(r.stderr, /^nsdump: .*bad\.json: inventory\.[a-zA-Z]+: .*\n$/);
  t.false(existsSync(join(work, 'out')));
  writeFileSync(bad, 'not json');
  t.regex(nsdump(['encode', bad, join(work, 'out')]).stderr, /^nsdump: .*bad\.json: not JSON: /);
  const missing = nsdump(['encode', join(work, 'nope.json'), join(work, 'out')]);
  t.is(missing.code, 3);
  t.regex(missing.stderr, /nope\.json: no such file\n$/);
  // A reference to a namespace that does not exist is caught as in a file read from disk.
  const topo = await startTopology(t, 'three-levels');
  const { img } = dumpToJson(t, topo.pid);
  img.processes[0]!.namespaces.uts = 999;
  writeFileSync(bad, JSON.stringify(img));
  const ref = nsdump(['encode', bad, join(work, 'out')]);
  t.is(ref.code, 3);
  t.regex(ref.stderr, /processes: entry 1 \(pid \d+\): uts 999 does not exist \[processLinksResolve\]\n$/);
  // The output directory rules are writeImage's: never overwrite.
  const shown = join(work, 'good.json');
  const { dir } = dumpToJson(t, topo.pid);
  writeFileSync(shown, nsdump(['show', dir, '--json']).stdout);
  const exists = nsdump(['encode', shown, dir]);
  t.is(exists.code, 6);
  // Standard input as "-".
  const stdin = spawnSync(process.execPath, [join(ROOT, 'dist/bin/nsdump.js'), 'encode', '-', join(work, 'from-stdin')], { input: readFileSync(shown), encoding: 'utf8' });
  t.is(stdin.status, 0, stdin.stderr);
});

test('docs/image.schema.json is the one the code generates', (t) => {
  if (!existsSync(join(ROOT, '.git'))) return t.pass('not a git checkout');
  const r = spawnSync('git', ['diff', '--exit-code', '--', 'docs/image.schema.json'], { cwd: ROOT, encoding: 'utf8' });
  t.is(r.status, 0, `regenerated schema differs from the committed one:\n${r.stdout}`);
  const schema = JSON.parse(readFileSync(join(ROOT, 'docs/image.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
  t.deepEqual(Object.keys(schema.properties), ['inventory', 'namespaces', 'processes', 'threads']);
});
