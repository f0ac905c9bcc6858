// Why: `nsdump demo` shows a newcomer the whole cycle on a small nested topology: build it, dump
// it, show it, plan its restore, restore it, dump the restored copy, diff the two, clean up.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpTree } from '../discover/dump.js';
import { compareImages } from '../diff/compare.js';
import { readImage } from '../image/read.js';
import { writeImage } from '../image/write.js';
import { buildPlan } from '../plan/build.js';
import { renderText } from '../plan/render-text.js';
import { validateForPlan } from '../plan/validate.js';
import { restore } from '../restore/run.js';
import { renderTree } from '../show/tree.js';
import { targetOf } from '../plan/target.js';

/**
 * Two levels of user+uts+pid namespaces with hostnames, an ipc namespace, a process at each level.
 * The script runs as `sh -c TEXT TEXT`, so "$0" is its own text for the next level to run again.
 */
const TOPOLOGY = `
case "\${1:-}" in
'') exec unshare --user --map-root-user --uts --pid --fork sh -c "$0" "$0" outer ;;
outer) hostname demo-outer; sleep 100000 & exec unshare --user --map-root-user --uts --ipc --pid --fork sh -c "$0" "$0" inner ;;
inner) hostname demo-inner; echo 4242 > /proc/sys/kernel/msgmax; sleep 100000 & echo ready; wait ;;
esac`;

/** Wait (up to 5 s) until no live process (zombies do not count) is in process group `pgid`. */
async function groupGone(pgid: number): Promise<void> {
  const alive = () =>
    readdirSync('/proc').some((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z';
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
}

export async function demoCommand(): Promise<number> {
  const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
  const work = mkdtempSync(join(tmpdir(), 'nsdump-demo-'));
  const topo = spawn('sh', ['-c', TOPOLOGY, TOPOLOGY], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  let restored: ReturnType<typeof restore> | undefined;
  try {
    say('1. build: two nested levels of user+uts+pid namespaces (with unshare), hostnames, an ipc limit');
    await new Promise<void>((resolve, reject) => {
      topo.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      topo.once('exit', (c) => reject(new Error(`the demo topology exited (${c})`)));
    });
    process.stdout.write(`root pid ${topo.pid}\n`);

    say(`2. nsdump dump ${topo.pid}`);
    const original = join(work, 'original');
    writeImage(original, await dumpTree(topo.pid!));
    const img = readImage(original);
    process.stdout.write(`${img.namespaces.length} namespaces, ${img.processes.length} processes → ${original}\n`);
    // From here on only the image is used: the original goes (it is our child, so a dump of the
    // restore below, which we root, would otherwise see both).
    process.kill(-topo.pid!, 'SIGKILL');
    // A signal is delivered asynchronously: on a busy machine the group may still be alive for a
    // moment, and a dump of our own tree would see it beside the restored copy.
    await groupGone(topo.pid!);
    process.stdout.write('the original topology is ended: what follows works from the image alone\n');

    say(`3. nsdump show ${original}`);
    process.stdout.write(renderTree(img));

    say(`4. nsdump plan ${original}`);
    validateForPlan(original, img);
    const plan = buildPlan(img, targetOf({}));
    process.stdout.write(renderText(plan, img, original));

    say(`5. nsdump restore ${original} --hold`);
    restored = restore(original);
    const ready = await restored.ready;
    process.stdout.write(`restored; every namespace is under pid ${ready.root}\n`);

    say(`6. nsdump dump ${ready.root}, then nsdump diff`);
    const copy = join(work, 'restored');
    writeImage(copy, await dumpTree(ready.root));
    const diffs = compareImages(img, readImage(copy));
    process.stdout.write(diffs.length ? `${diffs.map((d) => d.message).join('\n')}\n` : 'equivalent: the restored namespaces are the dumped ones, modulo kernel ids and pids\n');

    say('7. clean up');
    return diffs.length ? 1 : 0;
  } finally {
    if (restored) {
      restored.release();
      await restored.done.catch(() => null);
    }
    try {
      process.kill(-topo.pid!, 'SIGKILL');
    } catch {}
    rmSync(work, { recursive: true, force: true });
    process.stdout.write('released the restore, ended the topology, removed the images\n');
  }
}
