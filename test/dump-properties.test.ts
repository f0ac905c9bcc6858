// Properties of a dump that hold whatever the topology: no fd leaks, determinism, threads.
import test from 'ava';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { dumpTree } from '../src/discover/dump.js';
import { decodeImage, FILES, type FileKind } from '../src/image/codec.js';
import { stateOf, type Image } from '../src/model/image.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { inodeOf } from './helpers/kernel.js';
import { ROOT } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test.serial('many dumps in one process leave the fd count unchanged', async (t) => {
  const topo = await startTopology(t, 'holders');
  await dumpTree(topo.pid); // first use loads modules and caches feature probes
  const before = openFds();
  for (let i = 0; i < 40; i++) await dumpTree(topo.pid);
  t.is(openFds(), before);
});

test.serial('a failing dump leaves the fd count unchanged too', async (t) => {
  await dumpTree(process.pid);
  const before = openFds();
  for (let i = 0; i < 20; i++) await t.throwsAsync(dumpTree(4_000_000));
  t.is(openFds(), before);
});

test('the same host state gives byte-identical images apart from the time', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const a = dumpToJson(t, topo.pid).dir;
  const b = dumpToJson(t, topo.pid).dir;
  for (const kind of ['namespaces', 'processes', 'threads'] as FileKind[]) {
    t.deepEqual(readFileSync(join(a, FILES[kind].name)), readFileSync(join(b, FILES[kind].name)), FILES[kind].name);
  }
  const inv = (d: string) => {
    const files = Object.fromEntries((Object.keys(FILES) as FileKind[]).map((k) => [k, readFileSync(join(d, FILES[k].name))])) as Record<FileKind, Buffer>;
    const { time: _, ...rest } = (decodeImage(files) as Image).inventory;
    return rest;
  };
  t.deepEqual(inv(a), inv(b));
});

test('a thread whose namespaces differ from its leader\'s is recorded apart', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(ROOT, 'fixtures', 'thread-in-other-uts.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const tid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /tid (\d+)\nready\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`fixture exited ${c}`)));
  });
  const { img } = dumpToJson(t, child.pid!);
  t.is(img.threads.length, 1);
  const th = img.threads[0]!;
  t.is(th.pid, child.pid!);
  t.is(th.tid, tid);
  const uts = img.namespaces[th.namespaces.uts! - 1]!;
  t.is(readlinkSync(`/proc/${child.pid}/task/${tid}/ns/uts`), `uts:[${uts.inode}]`);
  t.is(stateOf(uts, 'uts').hostname, 'thread-uts');
  t.not(th.namespaces.uts, img.processes[0]!.namespaces.uts);
  t.is(img.namespaces[img.processes[0]!.namespaces.uts! - 1]!.inode, inodeOf(child.pid!, 'uts'));
});

test('dumping this very process works and shows one tree line per process group', (t) => {
  const dir = join(tempDir(t), 'img');
  const r = nsdump(['dump', String(process.pid), '-o', dir]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^dumped \\d+ namespaces, \\d+ process(es)? to ${dir}\\n$`));
  const s = nsdump(['show', dir]);
  t.is(s.code, 0);
  t.regex(s.stdout, new RegExp(`process(es)? .*${process.pid}`));
});
