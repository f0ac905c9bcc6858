// Issue 9, item 8: every stage reads a process through the /proc/PID directory fd the walk pinned
// (a pid reaped and reused meanwhile can then never be read by mistake). With /proc/PID hidden by
// path after the walk, a dump must come out exactly as one that can see it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTopology } from './helpers/topology.js';
import { ROOT } from './helpers/paths.js';
import { dumpTree } from '../src/discover/dump.js';
import type { Image } from '../src/model/image.js';

/** What must not depend on how the processes were reached (the dumpers stand in different mount namespaces). */
function essence(img: Image) {
  return {
    processes: img.processes,
    threads: img.threads,
    namespaces: img.namespaces.map(({ inScope: _, ...n }) => n),
    rootPid: img.inventory.rootPid,
    unreadablePids: img.inventory.unreadablePids,
  };
}

for (const topology of ['container', 'holders', 'time-for-children']) {
  test.serial(`${topology}: hiding /proc/PID after the walk changes nothing in the dump`, async (t) => {
    const topo = await startTopology(t, topology);
    const empty = mkdtempSync(join(tmpdir(), `nsdump-hide-${process.pid}-`));
    t.teardown(() => rmSync(empty, { recursive: true, force: true }));
    const norm = (img: Image) => JSON.parse(JSON.stringify(essence(img), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as unknown;
    // A topology says it is ready before its last processes have exec'd into what they stay: the
    // comparison counts only where a plain dump before and one after the hidden one agree (the
    // tree stood still meanwhile); a loaded machine may need a few tries for that.
    for (let attempt = 1; ; attempt++) {
      const before = norm(await dumpTree(topo.pid));
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', process.execPath, join(ROOT, 'dist/test/helpers/hidden-proc-dump.js'), String(topo.pid), empty], {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 64 << 20,
      });
      t.is(r.status, 0, r.stderr);
      const hidden = JSON.parse(r.stdout) as { hidden: number[]; img: Image };
      t.true(hidden.hidden.includes(topo.pid), 'the tree was hidden');
      const after = norm(await dumpTree(topo.pid));
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        if (attempt < 10) continue;
        t.fail('the topology kept changing: nothing to compare');
      }
      t.deepEqual(norm(hidden.img), after);
      return;
    }
  });
}
