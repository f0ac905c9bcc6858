// Why: the nsdump executable starts Node without NODE_EXTRA_CA_CERTS (src/model/node-env.ts), and
// must give the variable back, unchanged, to what it runs for a user. A certificate file that does
// not exist shows which Node read it: Node warns at start-up when it cannot load one.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { restore } from '../src/index.js';
import { dumpToJson } from './helpers/cli.js';
import { CLI } from './helpers/paths.js';
import { restoreGone } from './helpers/restore.js';
import { startTopology } from './helpers/topology.js';

const MISSING = '/nonexistent/nsdump-test-ca.pem';
const withCa = { ...process.env, NODE_EXTRA_CA_CERTS: MISSING };
const withoutCa = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const SHOW = ['sh', '-c', 'printf "%s|%s" "${NODE_EXTRA_CA_CERTS-unset}" "${NSDUMP_NODE_EXTRA_CA_CERTS-unset}"'];

test('the executable starts Node without NODE_EXTRA_CA_CERTS; node on the same file reads it', (t) => {
  const direct = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', env: withCa, timeout: 60_000 });
  t.is(direct.status, 0);
  t.regex(direct.stderr, /extra certs/);
  const executable = spawnSync(CLI, ['--version'], { encoding: 'utf8', env: withCa, timeout: 60_000 });
  t.is(executable.status, 0, executable.stderr);
  t.is(executable.stderr, '');
  t.regex(executable.stdout, /^nsdump /);
});

test('restore -- CMD: the command gets NODE_EXTRA_CA_CERTS as it was given, or not at all', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir } = dumpToJson(t, topo.pid);
  const set = spawnSync(CLI, ['restore', dir, '--', ...SHOW], { encoding: 'utf8', env: withCa, timeout: 60_000 });
  t.is(set.status, 0, set.stderr);
  t.is(set.stdout, `${MISSING}|unset`);
  t.notRegex(set.stderr, /extra certs/);
  const empty = spawnSync(CLI, ['restore', dir, '--', ...SHOW], { encoding: 'utf8', env: { ...withoutCa, NODE_EXTRA_CA_CERTS: '' }, timeout: 60_000 });
  t.is(empty.status, 0, empty.stderr);
  t.is(empty.stdout, '|unset');
  const unset = spawnSync(CLI, ['restore', dir, '--', ...SHOW], { encoding: 'utf8', env: withoutCa, timeout: 60_000 });
  t.is(unset.status, 0, unset.stderr);
  t.is(unset.stdout, 'unset|unset');
});

test("the library's restore(): its supervisor gives NODE_EXTRA_CA_CERTS back to the processes it makes", async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir } = dumpToJson(t, topo.pid);
  // restore() starts its supervisor (dist/src/cli/main.js) with this process's environment, read
  // when it spawns: set only across that synchronous call.
  const before = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = MISSING;
  let r;
  try {
    r = restore(dir);
  } finally {
    if (before === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = before;
  }
  const restoring = r;
  let executor = 0;
  t.teardown(async () => {
    restoring.release();
    await restoring.done;
    if (executor) await restoreGone(executor);
  });
  const ready = await restoring.ready;
  const environ = readFileSync(`/proc/${ready.sets[String(ready.rootSet)]!.pid}/environ`, 'latin1').split('\0');
  executor = Number(environ.find((e) => e.startsWith('NSDUMP_RESTORE='))?.slice('NSDUMP_RESTORE='.length));
  t.true(environ.includes(`NODE_EXTRA_CA_CERTS=${MISSING}`));
  t.false(environ.some((e) => e.startsWith('NSDUMP_NODE_EXTRA_CA_CERTS=')));
  restoring.release();
  t.is(await restoring.done, 0);
  t.true(await restoreGone(executor));
});
