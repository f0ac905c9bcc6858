// Round trips of containers a real engine makes: runc (the OCI runtime under Docker, containerd and
// Podman) run by root, and rootless (`runc spec --rootless`: a user namespace mapping uid 0 to the
// unprivileged user that runs it, and nothing else), each from a one-binary busybox bundle.
// .ci/run installs runc and busybox-static; where either is missing these are skipped, and say so.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expireAfter } from './helpers/child.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { assertMatchesKernel } from './helpers/kernel.js';
import { assertRoundTrip } from './helpers/restore.js';

const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const RUNC = which('runc');
const BUSYBOX = which('busybox');
// A bundle holds busybox alone, without the libraries a dynamic one needs.
const STATIC = BUSYBOX !== '' && spawnSync('ldd', [BUSYBOX], { encoding: 'utf8' }).status !== 0;
const READY = RUNC !== '' && STATIC;
if (!READY) console.log('runc: runc or a static busybox not found (apt-get install runc busybox-static): the container round trips are skipped');

const UID = 1000;
const AS_USER = ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--'];

/** Every path under `dir`, `dir` included, given to the user that runs a rootless container. */
function chownTree(dir: string): void {
  chownSync(dir, UID, UID);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(dir, e.name));
    else if (!e.isSymbolicLink()) chownSync(join(dir, e.name), UID, UID);
  }
}

/** A started container: its init's pid. Killed and deleted on teardown, whatever the outcome. */
async function startContainer(t: ExecutionContext, rootless: boolean): Promise<number> {
  const bundle = tempDir(t);
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp']) mkdirSync(join(bundle, 'rootfs', d), { recursive: true });
  copyFileSync(BUSYBOX, join(bundle, 'rootfs/bin/busybox'));
  for (const c of ['sh', 'sleep']) symlinkSync('busybox', join(bundle, 'rootfs/bin', c));
  if (rootless) chownTree(bundle);
  const prefix = rootless ? AS_USER : [];
  const env = { ...process.env, XDG_RUNTIME_DIR: join(bundle, 'run'), HOME: bundle };
  const runc = (args: string[]) => {
    const argv = [...prefix, RUNC, '--root', join(bundle, 'state'), ...args];
    return spawnSync(argv[0]!, argv.slice(1), { cwd: bundle, env, encoding: 'utf8' });
  };
  const spec = spawnSync(prefix[0] ?? RUNC, [...prefix.slice(1), ...(rootless ? [RUNC] : []), 'spec', ...(rootless ? ['--rootless'] : [])], { cwd: bundle, encoding: 'utf8' });
  if (spec.status !== 0) throw new Error(`runc spec: ${spec.stderr}`);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['sh', '-c', 'echo ready; exec sleep 100000'];
  config.hostname = rootless ? 'rootless' : 'container';
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  if (rootless) chownSync(join(bundle, 'config.json'), UID, UID);
  const id = `nsdump-test-${process.pid}-${rootless ? 'rootless' : 'root'}`;
  let pid = 0;
  t.teardown(() => {
    runc(['kill', id, 'KILL']);
    runc(['delete', '--force', id]);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone with the container
      }
    }
  });
  // -d: runc returns once the container runs; the container keeps runc's stdout, and says ready there.
  const argv = [...prefix, RUNC, '--root', join(bundle, 'state'), 'run', '-d', '-b', bundle, id];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: bundle, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = expireAfter(30_000, () => reject(new Error(`runc run: not ready after 30 s: ${out} ${err}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (c) => {
      if (c !== 0) {
        clearTimeout(timer);
        reject(new Error(`runc run exited ${c}: ${err}`));
      }
    });
  });
  child.stdout.destroy();
  child.stderr.destroy();
  const state = runc(['state', id]);
  if (state.status !== 0) throw new Error(`runc state: ${state.stderr}`);
  pid = (JSON.parse(state.stdout) as { pid: number }).pid;
  statSync(`/proc/${pid}`);
  return pid;
}

for (const rootless of [false, true]) {
  (READY ? test : test.skip)(`round trip of a real runc container${rootless ? `, rootless (run by uid ${UID})` : ', run by root'}`, async (t) => {
    const pid = await startContainer(t, rootless);
    const original = dumpToJson(t, pid);
    assertMatchesKernel(t, original.img);
    const made = original.img.namespaces.filter((n) => !n.inScope);
    t.deepEqual(made.map((n) => n.type).sort(), (rootless ? ['user', 'pid', 'ipc', 'uts', 'mnt'] : ['pid', 'net', 'ipc', 'uts', 'mnt']).sort(), "the namespaces runc's default spec makes");
    const user = made.find((n) => n.type === 'user');
    if (rootless) t.deepEqual(user?.type === 'user' ? user.state?.uidMap : null, [{ inside: 0, outside: UID, count: 1 }], 'uid 0 inside is the user that ran it');
    await assertRoundTrip(t, original.dir);
    // A command run in the restored container is its root, capabilities and all, as with
    // nsenter --all: rootless, root inside is the user that ran runc, not restore's own uid 0.
    const cmd = nsdump(['restore', original.dir, '--', 'sh', '-c', 'id -u; id -g; grep ^CapEff /proc/self/status']);
    t.is(cmd.code, 0, cmd.stderr);
    const [uid, gid, capEff] = cmd.stdout.trim().split('\n');
    t.deepEqual([uid, gid], ['0', '0']);
    t.not(BigInt(`0x${capEff!.split(/\s+/)[1]}`), 0n, capEff);
  });
}
