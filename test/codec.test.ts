// The image codec: exact round trips, 64-bit values that survive, and damaged files that are
// refused with exit code 3 and one line naming the file (the full corpus belongs to `nsdump plan`).
import test from 'ava';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, encodeImage, FILES, type FileKind } from '../src/image/codec.js';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import { FORMAT_VERSION } from '../src/model/format.js';
import type { Image } from '../src/model/image.js';
import { nsdump, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';

function sample(): Image {
  const refs = { user: 1, pid: 2, mnt: 5, net: 6, ipc: 7, uts: 3, cgroup: 8, time: 4, pid_for_children: null, time_for_children: 4 };
  const plain = { device: 4, nsId: null, owner: 1, parent: null, ownerBeyondScope: false, parentBeyondScope: false, inScope: false, initial: false, holders: [], stateNote: '' };
  return {
    inventory: {
      formatVersion: FORMAT_VERSION, nsdumpVersion: '0.1.0', kernelRelease: '6.18.0', hostname: 'h', rootPid: 10, unreadablePids: [4, 3000000], time: 1795364867507,
      features: { nsGetId: true, pidfdNamespaces: true, pidfdSetns: true, mntNsInfo: true, pidnsTranslate: true },
      scope: [{ type: 'user', inode: 4026531837, nsId: '18446744073709551615', id: 1 }, { type: 'uts', inode: 4026531838, nsId: null, id: null }],
    },
    namespaces: [
      { id: 1, type: 'user', inode: 4026531837, device: 4, nsId: '18446744073709551615', owner: null, parent: null, ownerBeyondScope: true, parentBeyondScope: true, inScope: true, initial: true, holders: [], stateNote: '',
        state: { uidMap: [{ inside: 0, outside: 0, count: 4294967295 }], gidMap: [], projidMap: [], setgroups: 'deny', ownerUid: 0, level: 0 } },
      { id: 2, type: 'pid', inode: 4026532000, device: 4, nsId: '9007199254740993', owner: 1, parent: null, ownerBeyondScope: false, parentBeyondScope: true, inScope: false, initial: false, holders: [{ kind: 'fd', pid: 10, fd: 7 }], stateNote: '', state: { level: 1 } },
      { id: 3, type: 'uts', inode: 4026532001, device: 4, nsId: null, owner: 1, parent: null, ownerBeyondScope: false, parentBeyondScope: false, inScope: false, initial: false, holders: [{ kind: 'bind', pid: 10, path: '/run/x y' }], stateNote: '', state: { hostname: '$(reboot)\n"', domainname: '(none)' } },
      { id: 4, type: 'time', inode: 4026532002, device: 4, nsId: '5', owner: 1, parent: null, ownerBeyondScope: false, parentBeyondScope: false, inScope: false, initial: false, holders: [], stateNote: '', state: { monotonic: { seconds: -86400, nanoseconds: 999999999 }, boottime: { seconds: 1, nanoseconds: 0 } } },
      // Every process is in one namespace of each type (validation refuses a link 0).
      { ...plain, id: 5, type: 'mnt', inode: 4026532003, state: { mountCount: 0, mounts: [] } },
      { ...plain, id: 6, type: 'net', inode: 4026532004, state: null },
      { ...plain, id: 7, type: 'ipc', inode: 4026532005, state: { sysctls: {} } },
      { ...plain, id: 8, type: 'cgroup', inode: 4026532006, state: { root: '/', insidePath: '/' } },
    ],
    processes: [
      {
        pid: 10, ppid: 1, comm: 'sh', nspid: [10, 1], namespaces: refs,
        credentials: {
          uid: { real: 0, effective: 1000, saved: null, fs: 4294967294 }, gid: { real: null, effective: 0, saved: 65534, fs: 7 }, groups: [5, null, 100],
          capabilities: { inheritable: '0000000000000000', permitted: '000001ffffffffff', effective: '8000000000000001', bounding: 'ffffffffffffffff', ambient: '0000000000200000' },
          noNewPrivs: true,
        },
      },
      // An image from before credentials were recorded: none.
      { pid: 12, ppid: 10, comm: 'sleep', nspid: [12, 2], namespaces: refs, credentials: null },
    ],
    threads: [{ pid: 10, tid: 11, namespaces: { ...refs, uts: 3 } }],
  };
}

test('encode → decode gives back the same image, 64-bit ids above 2^53 included', (t) => {
  const img = sample();
  t.deepEqual(decodeImage(encodeImage(img)), img);
});

test('a written image reads back through validation', (t) => {
  const dir = join(tempDir(t), 'img');
  writeImage(dir, sample());
  t.deepEqual(readImage(dir), sample());
});

const damage: [string, FileKind, (p: string) => void, RegExp][] = [
  ['empty', 'namespaces', (p) => writeFileSync(p, ''), /namespaces\.img: empty file$/],
  ['truncated mid-entry', 'namespaces', (p) => truncateSync(p, readFileSync(p).length - 3), /namespaces\.img: entry \d+: truncated/],
  ['wrong magic', 'processes', (p) => { const b = readFileSync(p); b.write('XXXX', 0, 'latin1'); writeFileSync(p, b); }, /processes\.img: wrong magic "XXXX"/],
  ['unknown version', 'inventory', (p) => { const b = readFileSync(p); b.writeUInt32LE(99, 4); writeFileSync(p, b); }, /inventory\.img: format version 99 is not supported/],
  ['huge entry length', 'namespaces', (p) => writeFileSync(p, Buffer.concat([readFileSync(p).subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])])), /namespaces\.img: entry 1: length \d+ exceeds/],
  ['garbage entry', 'namespaces', (p) => writeFileSync(p, Buffer.concat([readFileSync(p).subarray(0, 8), Buffer.from([3, 0xff, 0xff, 0xff])])), /namespaces\.img: entry 1: /],
  ['a reference to nowhere', 'processes', (p) => {
    const img = sample();
    img.processes[0]!.namespaces.uts = 9;
    writeFileSync(p, encodeImage(img).processes);
  }, /processes\.img: entry 1 \(pid 10\): uts 9 does not exist/],
];

for (const [what, kind, spoil, message] of damage) {
  test(`a damaged image (${what}) is refused: exit 3, one line naming the file`, (t) => {
    const dir = join(tempDir(t), 'img');
    writeImage(dir, sample());
    spoil(join(dir, FILES[kind].name));
    const r = nsdump(['show', dir]);
    t.is(r.code, 3);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr.trim(), new RegExp(`^nsdump: ${dir}/`));
    t.regex(r.stderr.trim(), message);
    t.is(r.stdout, '');
  });
}

test('a missing image file and a missing directory: exit 3', (t) => {
  const dir = join(tempDir(t), 'img');
  writeImage(dir, sample());
  rmSync(join(dir, 'threads.img'));
  t.is(nsdump(['show', dir]).stderr, `nsdump: ${dir}/threads.img: missing\n`);
  const r = nsdump(['show', join(dir, 'nope')]);
  t.is(r.code, 3);
  t.is(r.stderr, `nsdump: ${join(dir, 'nope')}: no such image directory\n`);
});

/**
 * Images are a contract between hosts: fixtures/images/v1-* were written by nsdump 0.1.0 (format
 * version 1, before networks carried routes, rules and sysctls) from fixtures/topologies of the
 * same names, and must keep reading, planning and comparing as themselves.
 */
for (const name of ['v1-mixed-children', 'v1-net-veth-pair']) {
  test(`an image written by nsdump 0.1.0 (${name}) still reads, plans and equals itself`, (t) => {
    const dir = join(ROOT, 'fixtures', 'images', name);
    const img = readImage(dir);
    t.is(img.inventory.nsdumpVersion, '0.1.0');
    const show = nsdump(['show', dir, '--json']);
    t.is(show.code, 0, show.stderr);
    t.is((JSON.parse(show.stdout) as Image).namespaces.length, img.namespaces.length);
    const plan = nsdump(['plan', dir, '-f', 'json']);
    t.is(plan.code, 0, plan.stderr);
    const diff = nsdump(['diff', dir, dir]);
    t.is(diff.code, 0, diff.stdout + diff.stderr);
  });
}

test('an entry that sets two states holds the last one on the wire (protobuf\'s rule for a oneof)', (t) => {
  const files = encodeImage(sample());
  const varint = (n: number) => {
    const out: number[] = [];
    for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
    return [...out, n];
  };
  // Entry 3 is uts#3; an empty user state (field 20) goes before or after it on the wire.
  const withUser = (where: 'before' | 'after') => {
    const data = files.namespaces;
    const entries: Buffer[] = [];
    for (let at = 8; at < data.length; ) {
      let len = 0;
      let shift = 0;
      for (let b = 0x80; b & 0x80; at++, shift += 7) len += ((b = data[at]!) & 0x7f) * 2 ** shift;
      entries.push(data.subarray(at, at + len));
      at += len;
    }
    const user = Buffer.from([...varint((20 << 3) | 2), 0]);
    entries[2] = where === 'before' ? Buffer.concat([user, entries[2]!]) : Buffer.concat([entries[2]!, user]);
    return { ...files, namespaces: Buffer.concat([data.subarray(0, 8), ...entries.flatMap((e) => [Buffer.from(varint(e.length)), e])]) };
  };
  const stateOf = (where: 'before' | 'after') => (decodeImage(withUser(where)) as Image).namespaces[2]!.state;
  t.deepEqual(stateOf('before'), sample().namespaces[2]!.state, 'the uts state came last: it is the state');
  t.is(stateOf('after'), null, 'a user state came last: a uts namespace holding it has no state of its own type');
});

test('strings are read as UTF-8 exactly: U+FFFD and a BOM stay themselves, bytes that are not UTF-8 refuse the entry', (t) => {
  const img = sample();
  const mnt = img.namespaces[4]!;
  const long = `/mnt/${'x'.repeat(80)}`;
  const mounts = [
    { id: 1, parentId: 0, device: '0:1', root: '/', mountPoint: '/\uFFFD\uFEFFé', options: 'rw', fsType: 'QQQQ', source: 'none', superOptions: 'rw' },
    { id: 2, parentId: 1, device: '0:2', root: '/', mountPoint: long, options: 'rw', fsType: 'ext4', source: 'WWWW', superOptions: 'rw' },
  ];
  mnt.state = { mountCount: 2, mounts };
  const files = encodeImage(img);
  t.deepEqual(decodeImage(files), img, 'valid UTF-8, U+FFFD and a byte-order mark included, reads back as it was');
  // Four ASCII bytes of one string made not UTF-8 (same length, so nothing else moves): short and
  // long strings, each refused with the entry named.
  for (const [marker, bad] of [['QQQQ', [0xff, 0xfe, 0xc3, 0x28]], ['WWWW', [0xed, 0xa0, 0x80, 0x41]]] as const) {
    const damaged = Buffer.from(files.namespaces);
    const at = damaged.indexOf(marker, 0, 'latin1');
    t.true(at > 0, marker);
    damaged.set(bad, at);
    const err = t.throws(() => decodeImage({ ...files, namespaces: damaged }));
    t.regex(err!.message, /^namespaces\.img: entry 5: .*utf-8/i);
  }
  // And one in a string of 64 bytes or more, which the strict reader decodes whole.
  const damaged = Buffer.from(files.namespaces);
  damaged[damaged.indexOf(long, 0, 'latin1') + 40] = 0xc0;
  t.throws(() => decodeImage({ ...files, namespaces: damaged }), { message: /^namespaces\.img: entry 5: .*utf-8/i });
});
