// Why: proves that a dump reads every process of the tree through the /proc/PID directory it
// pinned in the walk, never by path again. Run in a private mount namespace of its own (`unshare
// --mount --propagation private node hidden-proc-dump.js PID EMPTY`): once the walk is done, an
// empty directory is bind-mounted over /proc/PID of every process of the tree, so that any later
// open of "/proc/PID/…" by path fails (as it would for a pid reaped and reused meanwhile), while
// the pinned directory fds still reach the processes. Prints the image as JSON on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dumpTree } from '../../src/discover/dump.js';

const [pidArg, empty] = process.argv.slice(2);
const root = Number(pidArg);

/** The root and its descendants now (the tree of the test holds still). */
function tree(pid: number): number[] {
  const out = [pid];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(' ')) if (c) out.push(...tree(Number(c)));
  }
  return out;
}
const pids = tree(root);

const img = await dumpTree(root, {
  onStage: (stage) => {
    if (stage !== 'processes') return;
    for (const pid of pids) {
      const r = spawnSync('mount', ['--bind', empty!, `/proc/${pid}`], { encoding: 'utf8' });
      if (r.status !== 0 || existsSync(`/proc/${pid}/ns`)) throw new Error(`cannot hide /proc/${pid}: ${r.stderr}`);
    }
  },
});
process.stdout.write(JSON.stringify({ hidden: pids, img }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
