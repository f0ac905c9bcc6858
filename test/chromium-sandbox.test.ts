// Round trip of the namespace sandbox Chromium builds for itself on Linux, as a sandboxed browser
// runs on a desktop: a user namespace that maps only the user's own uid (uid 0 unmapped) with a pid
// and a net namespace in it, a second user namespace nested in the first, and a pid namespace per
// renderer below that. Chromium refuses its sandbox as root, so it runs as an unprivileged uid that
// has no passwd entry. .ci/run installs chromium; where it is missing this is skipped, and says so.
import test from 'ava';
import { chownSync } from 'node:fs';
import type { Namespace } from '../src/model/image.js';
import { chromium } from './helpers/browser.js';
import { dumpToJson, tempDir } from './helpers/cli.js';
import { assertMatchesKernel } from './helpers/kernel.js';
import { assertRoundTrip } from './helpers/restore.js';
import { startTopology } from './helpers/topology.js';

const BROWSER = chromium();
if (!BROWSER) console.log('chromium-sandbox: chromium not found (apt-get install chromium): its sandbox round trip is skipped');
const UID = 1234;

// Crashpad's handler would leave the process group (it daemonizes): --disable-crashpad-for-testing.
// Ready once a renderer runs, two pid namespaces below the script's (its NSpid lists three pids).
const SCRIPT = `
HOME="$1" setpriv --reuid=${UID} --regid=${UID} --clear-groups -- "$2" --headless=new --disable-gpu --no-first-run --disable-crashpad-for-testing --user-data-dir="$1" about:blank >/dev/null 2>&1 &
renderer() { for p in $(pgrep -g $$); do grep -qsE '^NSpid:([[:space:]]+[0-9]+){3}$' /proc/$p/status && return 0; done; return 1; }
until renderer; do sleep 0.1; done
echo ready
wait`;

const userMaps = (n: Namespace) => (n.type === 'user' && n.state ? n.state.uidMap : []);

(BROWSER ? test : test.skip)("round trip of Chromium's own sandbox: uid 0 unmapped, a user namespace in a user namespace, a pid namespace per renderer", async (t) => {
  const profile = tempDir(t);
  chownSync(profile, UID, UID);
  const topo = await startTopology(t, 'chromium', { inline: SCRIPT, args: [profile, BROWSER!], ready: 1 });
  const original = dumpToJson(t, topo.pid);
  assertMatchesKernel(t, original.img);
  const made = original.img.namespaces.filter((n) => !n.inScope);
  const users = made.filter((n) => n.type === 'user');
  t.true(users.length >= 2, 'two user namespaces of its own');
  t.true(users.some((u) => u.parent !== null && users.some((o) => o.id === u.parent)), 'one inside the other');
  t.true(users.every((u) => userMaps(u).length > 0 && !userMaps(u).some((l) => l.inside === 0)), 'none maps uid 0');
  t.true(made.some((n) => n.type === 'pid' && n.state?.level === 2), 'a pid namespace two levels down');
  await assertRoundTrip(t, original.dir);
});
