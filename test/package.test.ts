// The package as a user gets it: `npm pack`, installed (offline) into a scratch project, imported
// by name, type-checked with tsc, and used to dump a real uts namespace.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { tempDir } from './helpers/cli.js';
import { firstLine } from './helpers/child.js';
import { ROOT } from './helpers/paths.js';

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Every package the library needs at run time (package-lock entries not marked dev, nested ones
 * included, one per name and version), packed from node_modules: with these beside it, npm installs
 * the tarball without asking the registry.
 */
function packRuntimeDeps(dest: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version?: string }> };
  const seen = new Set<string>();
  const dirs: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    if (!path || p.dev) continue;
    const key = `${path.replace(/^.*node_modules\//, '')}@${p.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    dirs.push(`./${path}`);
  }
  run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest, ...dirs.filter((d) => spawnSync('test', ['-d', join(ROOT, d)]).status === 0)], ROOT);
}

const USE_TS = `
import { dump, writeImage, readImage, imageToJson, imageFromJson, plan, renderPlan, renderTree, diff, validate, ImageError, NS_TYPES, type Image, type Namespace, type StateOf } from 'nsdump';

const pid = Number(process.argv[2]);
const img: Image = await dump(pid, { retries: 1 });
const uts: Namespace | undefined = img.namespaces.find((n) => n.type === 'uts' && !n.inScope);
const state = uts?.state as StateOf<'uts'> | null | undefined;
const dir = writeImage(process.argv[3]!, img);
const back = readImage(dir);
validate(back, dir);
const p = plan(back, { kernel: '6.1' });
let refused = '';
try {
  imageFromJson('{"inventory": {}}', 'broken.json');
} catch (err) {
  if (err instanceof ImageError) refused = err.message;
}
process.stdout.write(JSON.stringify({
  types: NS_TYPES.length,
  uts: uts ? { inode: uts.inode, hostname: state?.hostname } : null,
  sameAfterJson: imageToJson(imageFromJson(imageToJson(back))) === imageToJson(back),
  verdict: diff(img, back).verdict,
  steps: p.steps.length,
  text: renderPlan(p, back, 'text', dir).split('\\n')[1],
  tree: renderTree(back).includes('hostname'),
  refused,
}));
`;

test('npm pack holds what a user needs, installs offline, imports, type-checks, and dumps a real namespace', async (t) => {
  const work = tempDir(t);
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const want of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/bin/nsdump.js', 'dist/bin/cli.cjs', 'dist/bin/cli.dump.v8cache', 'dist/man/nsdump.1', 'docs/api.md', 'docs/image.schema.json', 'docs/plan.schema.json']) t.true(files.includes(want), want);
  t.deepEqual(files.filter((f) => /^(test|fixtures|src|scripts|proto)\/|^dist\/test\/|\.map$|\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'no tests, fixtures, sources or source maps');

  const deps = join(work, 'deps');
  mkdirSync(deps);
  packRuntimeDeps(deps);
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed[0]!.filename), ...readdirSync(deps).map((f) => join(deps, f))], app);
  t.is(run(join(app, 'node_modules', '.bin', 'nsdump'), ['--version'], app).trim(), `nsdump ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}`);
  // The code cache ships with the bundle it was made from, and the installed CLI starts from it.
  const timed = spawnSync(join(app, 'node_modules', '.bin', 'nsdump'), ['--version'], { cwd: app, encoding: 'utf8', env: { ...process.env, NSDUMP_TIMING: '1' } });
  t.regex(timed.stderr, /^nsdump: code cache cli\.v8cache: used$/m);

  // Type-check (strict) and compile the user's file against the installed package's declarations.
  writeFileSync(join(app, 'use.ts'), USE_TS);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] }, files: ['use.ts'] }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  // The example of docs/api.md, as shipped, type-checks too.
  const example = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(app, 'node_modules', 'nsdump', 'docs', 'api.md'), 'utf8'))![1]!;
  writeFileSync(join(app, 'example.mts'), example);
  const ex = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'example.mts'], { cwd: app, encoding: 'utf8' });
  t.is(ex.status, 0, ex.stdout + ex.stderr);

  // A uts namespace of our own child, with a hostname only it has.
  const name = `pkg-${process.pid}`;
  const child = spawn('unshare', ['--uts', 'sh', '-c', `hostname ${name} && echo ready && exec sleep 1000`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  await firstLine(child, exited, 'unshare --uts', 30_000, () => stderr);
  const inode = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${child.pid}/ns/uts`))![1]);

  const out = JSON.parse(run(process.execPath, [join(app, 'use.js'), String(child.pid), join(work, 'img')], app)) as Record<string, unknown>;
  t.deepEqual(out, {
    types: 8,
    uts: { inode, hostname: name },
    sameAfterJson: true,
    verdict: 'equivalent',
    steps: out.steps,
    text: 'for kernel 6.1, setns(pidfd) available: attach atomically.',
    tree: true,
    refused: out.refused,
  });
  t.true((out.steps as number) >= 2, 'a create step and an attach step at least');
  t.regex(out.refused as string, /^broken\.json: inventory\./);
});
