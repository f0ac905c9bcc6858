#!/usr/bin/env node
// Regenerates fixtures/bad-images/: one valid synthetic image (fixtures/bad-images/base.json) and
// a directory per damaged or invalid variant, each with expect.json {code, pattern}: the exit code
// and message `nsdump plan` must give. Needs `npm run build` first. Run: node scripts/gen-bad-images.mjs
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeImage, FILES } from '../dist/src/image/codec.js';

const out = new URL('../fixtures/bad-images/', import.meta.url).pathname;
const base = JSON.parse(readFileSync(join(out, 'base.json'), 'utf8'));
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
    extra.push({ ...structuredClone(ns(base, 9)), id, parent, owner: parent, inode: 4026540000 + i, nsId: String(90000 + i) });
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
    img.namespaces.push({ ...structuredClone(ns(base, 10)), id, parent, owner: 9, inode: 4026541000 + i, nsId: String(91000 + i) });
    parent = id;
  }
}
write('pid-nesting-too-deep', img, bad('pid namespace nested 33 deep; the kernel allows 32'));
img = clone();
ns(img, 11).owner = null;
ns(img, 11).ownerBeyondScope = true;
write('owner-beyond-scope', img, { code: 8, pattern: "owned by a user namespace beyond the dumper's scope" });
console.log('fixtures/bad-images regenerated');
