// Names are the kernel's bytes (issue 10): a hostname, a domainname and comms that are not UTF-8
// are dumped exactly, carried losslessly by show --json and encode, shown escaped, and given back
// to the kernel byte for byte by restore and by the sh plan; diff finds the round trip equal.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, type FileKind } from '../src/image/codec.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { hold } from './helpers/restore.js';
import { startTopology } from './helpers/topology.js';

// A uts namespace whose hostname is ff fe 80 and domainname "dom" e9 (Latin-1 é), held by a shell
// whose comm is "c" ff fe, with a child shell whose comm is "d" 80 (what /proc/PID/comm takes).
const HOLDER = String.raw`exec unshare --uts sh -c '
printf "\377\376\200" > /proc/sys/kernel/hostname
printf "dom\351" > /proc/sys/kernel/domainname
printf "c\377\376" > /proc/$$/comm
sh -c "printf \"d\\200\" > /proc/\$\$/comm; echo ready; sleep 100000 & wait" &
wait'`;

const NAMES = Buffer.from([0xff, 0xfe, 0x80, 0x0a, 0x64, 0x6f, 0x6d, 0xe9, 0x0a]);

test('names that are not UTF-8: dumped as their bytes, carried by JSON, restored byte for byte, and diff says equal', async (t) => {
  const topo = await startTopology(t, 'bytes-names', { inline: HOLDER });
  const inside = spawnSync('nsenter', [`--uts=/proc/${topo.pid}/ns/uts`, 'cat', '/proc/sys/kernel/hostname', '/proc/sys/kernel/domainname']);
  t.true(inside.stdout.equals(NAMES), `the holder set its names: ${inside.stdout.toString('hex')}`);

  const { dir, img } = dumpToJson(t, topo.pid);
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope);
  t.deepEqual(uts?.state, { hostname: { hex: 'fffe80' }, domainname: { hex: '646f6de9' } });
  const comms = img.processes.map((p) => p.comm);
  t.deepEqual(img.processes.find((p) => p.pid === topo.pid)?.comm, { hex: '63fffe' }, JSON.stringify(comms));
  t.true(comms.some((c) => typeof c === 'object' && c.hex === '6480'), JSON.stringify(comms));

  // Text escapes the stray bytes; JSON carries them and encodes back to the very same files.
  const shown = nsdump(['show', dir]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /hostname "\\xff\\xfe\\x80", domainname "dom\\xe9"/);
  t.regex(shown.stdout, new RegExp(`${topo.pid} c\\\\xff\\\\xfe`));
  const json = join(tempDir(t), 'image.json');
  writeFileSync(json, nsdump(['show', dir, '--json']).stdout);
  const back = join(tempDir(t), 'back');
  const enc = nsdump(['encode', json, back]);
  t.is(enc.code, 0, enc.stderr);
  for (const k of Object.keys(FILES) as FileKind[]) t.true(readFileSync(join(dir, FILES[k].name)).equals(readFileSync(join(back, FILES[k].name))), FILES[k].name);

  // restore: the kernel gets the bytes back; a dump of the restored tree is equivalent.
  const held = await hold(t, dir);
  const set = held.ready.sets[String(held.ready.rootSet)]!;
  const restored = spawnSync('nsenter', [`--uts=${set.ns.uts}`, 'cat', '/proc/sys/kernel/hostname', '/proc/sys/kernel/domainname']);
  t.true(restored.stdout.equals(NAMES), `restored names: ${restored.stdout.toString('hex')}`);
  const again = join(tempDir(t), 'again');
  const d = nsdump(['dump', String(held.ready.root), '-o', again, '-q']);
  t.is(d.code, 0, d.stderr);
  const diff = nsdump(['diff', dir, again]);
  t.is(diff.code, 0, `${diff.stdout}${diff.stderr}`);
  t.regex(diff.stdout, /^equivalent: /);

  // The sh plan, run for real, writes the same bytes (printf %b with \0NNN).
  const plan = nsdump(['plan', dir, '-f', 'sh']);
  t.is(plan.code, 0, plan.stderr);
  t.true(plan.stdout.includes(String.raw`'\0377\0376\0200' 'dom\0351'`), 'the names as printf %b arguments');
  const file = join(tempDir(t), 'plan.sh');
  writeFileSync(file, plan.stdout);
  const r = spawnSync('sh', [file, '--', 'sh', '-c', 'cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; exit 5'], { timeout: 60_000 });
  t.is(r.status, 5, r.stderr.toString());
  t.true(r.stdout.equals(NAMES), `names set by the sh plan: ${r.stdout.toString('hex')}`);
});
