#!/usr/bin/env node
// Regenerates fixtures/bad-images/: one valid synthetic image (fixtures/bad-images/base.json) and
// a directory per damaged or invalid variant, each with expect.json {code, pattern}: the exit code
// and message `nsdump plan` must give. Needs `npm run build` first. Run: node scripts/gen-bad-images.mjs
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs/minimal.js';
import { encodeImage, FILES } from '../dist/src/image/codec.js';
import { nsdump } from '../dist/src/generated/image.js';
import { Image } from '../dist/src/model/image.js';

const out = new URL('../fixtures/bad-images/', import.meta.url).pathname;
// Parsed, so that fields added since base.json was written get their defaults.
const base = Image.parse(JSON.parse(readFileSync(join(out, 'base.json'), 'utf8')));
const clone = () => structuredClone(base);
const ns = (img, id) => img.namespaces[id - 1];

function write(name, img, expect, damage) {
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = encodeImage(img);
  for (const [k, buf] of Object.entries(files)) writeFileSync(join(dir, FILES[k].name), buf);
  if (damage) damage(dir);
  writeFileSync(join(dir, 'expect.json'), `${JSON.stringify(expect)}\n`);
}
const bad = (pattern) => ({ code: 3, pattern });

// Damaged files.
write('empty-file', base, bad('namespaces\\.img: empty file'), (d) => writeFileSync(join(d, 'namespaces.img'), ''));
write('missing-file', base, bad('processes\\.img: missing'), (d) => rmSync(join(d, 'processes.img')));
write('truncated', base, bad('namespaces\\.img: entry \\d+: truncated'), (d) => {
  const p = join(d, 'namespaces.img');
  truncateSync(p, readFileSync(p).length - 5);
});
write('wrong-magic', base, bad('inventory\\.img: wrong magic'), (d) => {
  const p = join(d, 'inventory.img');
  const b = readFileSync(p);
  b.write('CRIU', 0, 'latin1');
  writeFileSync(p, b);
});
write('unknown-version', base, bad('format version 7 is not supported'), (d) => {
  const p = join(d, 'namespaces.img');
  const b = readFileSync(p);
  b.writeUInt32LE(7, 4);
  writeFileSync(p, b);
});
write('oversized-entry', base, bad('length \\d+ exceeds'), (d) => {
  const p = join(d, 'processes.img');
  writeFileSync(p, Buffer.concat([readFileSync(p).subarray(0, 8), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08])]));
});
write('bytes-flipped', base, bad('namespaces\\.img: entry 1: '), (d) => {
  // The first entry's first field tag becomes wire type 7, which protobuf does not have.
  const p = join(d, 'namespaces.img');
  const b = readFileSync(p);
  const lenBytes = b[8] & 0x80 ? 2 : 1;
  b[8 + lenBytes] = 0x0f;
  writeFileSync(p, b);
});
write('two-inventories', base, bad('inventory\\.img: holds 2 entries'), (d) => {
  const p = join(d, 'inventory.img');
  const b = readFileSync(p);
  writeFileSync(p, Buffer.concat([b, b.subarray(8)]));
});

// Content that decodes but is wrong.
let img = clone();
ns(img, 11).owner = 42;
write('dangling-owner', img, bad('owner 42 does not exist'));
img = clone();
ns(img, 10).parent = 9;
write('parent-of-other-type', img, bad('parent 9 is a user namespace, expected pid'));
img = clone();
ns(img, 11).owner = 10;
write('owner-not-user', img, bad('owner 10 is a pid namespace, expected user'));
img = clone();
img.processes[0].namespaces.uts = 99;
write('process-to-nowhere', img, bad('processes\\.img: entry 1 \\(pid 100\\): uts 99 does not exist'));
img = clone();
ns(img, 9).state.uidMap = [{ inside: 0, outside: 1000, count: 10 }, { inside: 5, outside: 5000, count: 10 }];
write('overlapping-map', img, bad('uid_map ranges overlap on the inside side'));
img = clone();
ns(img, 9).state.gidMap = [{ inside: 0, outside: 0, count: 0 }];
write('zero-count-map', img, bad('gid_map line 1 has count 0'));
img = clone();
ns(img, 9).state.uidMap = Array.from({ length: 341 }, (_, i) => ({ inside: i, outside: 100000 + i, count: 1 }));
write('map-too-long', img, bad('uid_map has 341 lines'));
img = clone();
ns(img, 11).state.hostname = 'h'.repeat(65);
write('hostname-too-long', img, bad('hostname is 65 bytes'));
img = clone();
ns(img, 13).state.monotonic.nanoseconds = 1_000_000_000;
write('nanoseconds-out-of-range', img, bad('namespaces\\.img: entry 13: state'));
img = clone();
ns(img, 13).state.boottime.seconds = 9_000_000_000;
write('offset-out-of-range', img, bad('boottime offset 9000000000 s is beyond'));
img = clone();
ns(img, 12).state.sysctls['kernel.core_pattern'] = '|/bin/sh';
write('unknown-sysctl', img, bad('unknown ipc sysctl "kernel.core_pattern"'));
img = clone();
ns(img, 12).state.sysctls['kernel.shmmax'] = '1\nkernel.x';
write('sysctl-not-a-number', img, bad('kernel.shmmax = .* is not a number'));
// A chain of 34 user namespaces below the initial one: one more than the kernel allows.
img = clone();
{
  const extra = [];
  let parent = 1;
  for (let i = 0; i < 34; i++) {
    const id = img.namespaces.length + extra.length + 1;
    const user = { ...structuredClone(ns(base, 9)), id, parent, owner: parent, inode: 4026540000 + i, nsId: String(90000 + i) };
    user.state.level = i + 1;
    extra.push(user);
    parent = id;
  }
  img.namespaces.push(...extra);
}
write('user-nesting-too-deep', img, bad('user namespace nested 34 deep; the kernel allows 33'));
img = clone();
{
  let parent = 2;
  for (let i = 0; i < 33; i++) {
    const id = img.namespaces.length + 1;
    const pid = { ...structuredClone(ns(base, 10)), id, parent, owner: 9, inode: 4026541000 + i, nsId: String(91000 + i) };
    pid.state.level = i + 1;
    img.namespaces.push(pid);
    parent = id;
  }
}
write('pid-nesting-too-deep', img, bad('pid namespace nested 33 deep; the kernel allows 32'));
img = clone();
ns(img, 11).owner = null;
ns(img, 11).ownerBeyondScope = true;
write('owner-beyond-scope', img, { code: 8, pattern: "owned by a user namespace beyond the dumper's scope" });

// Issue 10, crash signatures: each crashed some command (exit 70 or a stack overflow) and is now
// refused by the one validation every reader runs.
img = clone();
img.processes[0].namespaces.uts = null; // link 0 on the wire
write('link-zero', img, bad('processes\\.img: entry 1 \\(pid 100\\): has no uts namespace \\(link 0\\).*\\[processLinksResolve\\]'));
img = clone();
img.processes = [];
write('no-processes', img, bad('processes\\.img: the root pid 100 \\(inventory\\) is not among its 0 processes \\[rootIsAmongTheProcesses\\]'));
write('process-without-namespaces', base, bad('processes\\.img: entry 1 \\(pid 100\\): has no user namespace \\(link 0\\)'), (d) => {
  // A Process message with no NsRefs sub-message at all (field 5 left out).
  const msg = nsdump.image.v1.Process.encode({ pid: 100, ppid: 1, comm: 'sh', nspid: [100, 1] }).finish();
  const w = protobuf.Writer.create();
  w.bytes(msg);
  const head = readFileSync(join(d, 'processes.img')).subarray(0, 8);
  writeFileSync(join(d, 'processes.img'), Buffer.concat([head, w.finish()]));
});
img = clone();
{
  // 20,000 nested user namespaces (no state, to keep the fixture small): refused before anything
  // walks the chain; `show` used to overflow the stack drawing it.
  let parent = 1;
  const proto = { ...ns(base, 9), state: null, stateNote: 'x', holders: [] };
  for (let i = 0; i < 20000; i++) {
    const id = img.namespaces.length + 1;
    img.namespaces.push({ ...proto, id, parent, owner: parent, inode: 1 + i, nsId: null });
    parent = id;
  }
}
write('user-chain-20000', img, bad('user namespace nested 34 deep; the kernel allows 33 \\[nestingWithinKernelLimits\\]'));
img = clone();
img.inventory.time = 1e17;
write('huge-timestamp', img, bad('inventory\\.img: time: '));

// Issue 10, accepted-invalid: each was planned (and restored) as if it were sound.
img = clone();
img.inventory.rootPid = 4242;
write('root-not-among-processes', img, bad('the root pid 4242 \\(inventory\\) is not among its 1 processes'));
img = clone();
img.processes.push(structuredClone(img.processes[0]));
write('duplicate-pids', img, bad('processes\\.img: entry 2 \\(pid 100\\): pid 100 appears twice \\[pidsAreUnique\\]'));
img = clone();
ns(img, 9).inScope = true;
write('two-in-scope-users', img, bad("entry 9 \\(user#9\\): marked as the dumper's own user namespace, but the scope names 1 \\[scopeNamesOneNamespacePerType\\]"));
img = clone();
img.inventory.scope[5].id = 3;
write('scope-entry-wrong-type', img, bad('inventory\\.img: scope entry 6 \\(uts\\): namespace 3 is a mnt namespace'));
img = clone();
ns(img, 10).state.level = 4294967295;
write('pid-level-absurd', img, bad("entry 10 \\(pid#10\\): level 4294967295 is beyond the kernel's 32"));
img = clone();
img.inventory.scope.push({ ...img.inventory.scope[0] });
write('scope-entry-twice', img, bad('scope entry 9 names a second user namespace'));
img = clone();
img.processes.push({ ...structuredClone(img.processes[0]), pid: 200, ppid: 201 }, { ...structuredClone(img.processes[0]), pid: 201, ppid: 200 });
write('ppid-loop', img, bad('its parents form a loop: 200 → 201 → 200 \\[processTreeHasNoCycle\\]'));
img = clone();
img.threads.push({ pid: 300, tid: 301, namespaces: structuredClone(img.processes[0].namespaces) });
write('thread-of-no-process', img, bad('threads\\.img: entry 1 \\(tid 301\\): its process 300 is not in the image'));
img = clone();
ns(img, 9).owner = null;
ns(img, 9).ownerBeyondScope = false;
write('user-owner-not-parent', img, bad("owner none differs from parent 1; a user namespace's owner is its parent"));
img = clone();
ns(img, 11).owner = null;
write('owner-unexplained', img, bad('entry 11 \\(uts#11\\): has no owning user namespace, and the image does not say it lies beyond the scope'));
img = clone();
ns(img, 10).parent = 11;
write('parent-after-child', img, bad('parent 11 must come before the namespace it relates to'));

// Issue 10, files: an image file that is a symbolic link is not followed (its target not echoed).
write('symlinked-file', base, bad('namespaces\\.img: is a symbolic link'), (d) => {
  rmSync(join(d, 'namespaces.img'));
  symlinkSync('/etc/passwd', join(d, 'namespaces.img'));
});
console.log('fixtures/bad-images regenerated');
