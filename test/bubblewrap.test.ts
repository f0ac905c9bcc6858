// Round trips of sandboxes bubblewrap itself makes (how Flatpak runs every app): --uid 1000 with
// uid 0 unmapped, as root and as an unprivileged user, and bubblewrap inside bubblewrap; and a
// command run in the restored sandbox (`restore -- CMD`) with the sandboxed process's ids. .ci/run
// installs bubblewrap; where it is missing these are skipped, and say so.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { dumpToJson, nsdump } from './helpers/cli.js';
import { assertRoundTrip } from './helpers/restore.js';
import { startTopology } from './helpers/topology.js';

const BWRAP = spawnSync('bwrap', ['--version']).status === 0;
const SANDBOX = ['--unshare-all', '--uid', '1000', '--gid', '1000', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev'];
const AS_USER = ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups', '--'];
const q = (a: string[]) => a.map((x) => `'${x}'`).join(' ');

const cases: [string, string][] = [
  ['bwrap --unshare-all --uid 1000, run by root', `exec bwrap ${q(SANDBOX)} --hostname sandbox -- sh -c 'echo ready; exec sleep 100000'`],
  ['bwrap --unshare-all --uid 1000, run by uid 1000', `exec ${q(AS_USER)} bwrap ${q(SANDBOX)} -- sh -c 'echo ready; exec sleep 100000'`],
  ['bwrap inside bwrap, run by uid 1000', `exec ${q(AS_USER)} bwrap ${q(SANDBOX)} -- bwrap ${q(SANDBOX)} --hostname inner -- sh -c 'echo ready; exec sleep 100000'`],
];

for (const [name, script] of cases) {
  (BWRAP ? test : test.skip)(`round trip of a real bubblewrap sandbox: ${name}`, async (t) => {
    const topo = await startTopology(t, 'bwrap', { inline: script, ready: 1 });
    const original = dumpToJson(t, topo.pid);
    t.true(original.img.namespaces.some((n) => n.type === 'user' && !n.inScope && !(n.state as { uidMap: { inside: number }[] }).uidMap.some((l) => l.inside === 0)), 'a user namespace that maps no uid 0');
    await assertRoundTrip(t, original.dir);
    // A command run in the restored sandbox is who the sandboxed process was there: uid 1000.
    // The sandboxed process is the one that is not bwrap: it says ready before it execs sleep, so
    // with both cores busy the dump may find it still named sh.
    const sandboxed = original.img.processes.find((p) => p.comm !== 'bwrap')!;
    t.truthy(sandboxed, JSON.stringify(original.img.processes.map((p) => p.comm)));
    const cmd = nsdump(['restore', original.dir, '--pid', String(sandboxed.pid), '--', 'sh', '-c', 'id -u; id -g']);
    t.is(cmd.code, 0, cmd.stderr);
    t.is(cmd.stdout, '1000\n1000\n');
  });
}
