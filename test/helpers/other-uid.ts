// Why: the checkout may live where other uids cannot reach it (under /root, or a 0700 mktemp -d), and
// its modes are the user's: what a test runs as another uid runs from a world-readable copy instead.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { ROOT } from './paths.js';

/** setpriv's arguments to run what follows as nobody: uid and gid 65534, no groups, no capabilities. */
export const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

/** What `nsdump` options need to run a staged copy: the node binary, the CLI, and a cwd nobody can enter. */
export interface Staged {
  node: string;
  cli: string;
  cwd: string;
}

/**
 * The node_modules folders the built code loads at run time: package-lock's top-level entries not
 * marked dev (their own nested node_modules come along), those installed — of koffi's optional
 * per-platform packages, the one with this machine's native module.
 */
export function runtimeModules(root: string): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !p.dev && existsSync(join(root, path)))
    .map(([path]) => path);
}

/** Whether nobody can run this node binary where it is (it may be under /root too, e.g. from nvm). */
function nobodyRuns(node: string): boolean {
  return spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), node, '--version'], { cwd: '/', stdio: 'ignore' }).status === 0;
}

/**
 * A fresh directory under tmpdir, removed on teardown, with what `node dist/bin/nsdump.js` needs:
 * package.json (it makes dist/ ES modules), dist/bin, the runtime node_modules, and node itself when
 * nobody cannot run it where it is. Everything in it is made readable (and directories searchable)
 * by all, whatever the modes in the checkout `root`.
 */
export function stageCli(t: ExecutionContext, root = ROOT): Staged {
  const dir = mkdtempSync(join(tmpdir(), 'nsdump-staged-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'dist', 'bin'), join(dir, 'dist', 'bin'), { recursive: true });
  for (const m of runtimeModules(root)) cpSync(join(root, m), join(dir, m), { recursive: true });
  let node = process.execPath;
  if (!nobodyRuns(node)) {
    node = join(dir, 'node');
    copyFileSync(process.execPath, node);
  }
  const r = spawnSync('chmod', ['-R', 'a+rX', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chmod -R a+rX ${dir}: ${r.stderr}`);
  return { node, cli: join(dir, 'dist', 'bin', 'nsdump.js'), cwd: dir };
}
