// The image side of `nsdump caps`: an image's user namespaces and credentials as the rule's types,
// Y by image id or TYPE:PID, unmapped owners, and namespaces hidden beyond the dumper's scope.
import test from 'ava';
import { ALL_CAPS, capBit, capNumber, capsIn, explain } from '../../src/model/caps.js';
import { hasCredentials, imageCredentials, imageUsers, ImageTargetError, isImageMember, resolveImageTarget } from '../../src/model/image-caps.js';
import type { Credentials, Image, Namespace, Process } from '../../src/model/image.js';
import { NS_LINKS } from '../../src/model/species.js';

const SYS_ADMIN = capNumber('sys_admin')!;

function userNs(id: number, parent: number | null, ownerUid: number, level: number, extra: Partial<Namespace> = {}, uidMap = [{ inside: 0, outside: 1000, count: 1 }]): Namespace {
  return {
    id, type: 'user', inode: 4026532000 + id, device: 4, nsId: null, owner: parent, parent, ownerBeyondScope: parent === null && level > 0, parentBeyondScope: parent === null && level > 0,
    inScope: false, initial: false, holders: [], stateNote: '',
    state: { uidMap, gidMap: uidMap, projidMap: [], setgroups: 'deny', ownerUid, level },
    ...extra,
  } as Namespace;
}
const uts = (id: number, owner: number | null): Namespace =>
  ({ id, type: 'uts', inode: 4026533000 + id, device: 4, nsId: null, owner, parent: null, ownerBeyondScope: owner === null, parentBeyondScope: false, inScope: false, initial: false, holders: [], stateNote: '', state: { hostname: 'h', domainname: '' } }) as Namespace;

const creds = (euid: number | null, eff: bigint): Credentials => ({
  uid: { real: euid, effective: euid, saved: euid, fs: euid },
  gid: { real: 0, effective: 0, saved: 0, fs: 0 },
  groups: [],
  capabilities: { inheritable: '0'.repeat(16), permitted: eff.toString(16).padStart(16, '0'), effective: eff.toString(16).padStart(16, '0'), bounding: ALL_CAPS.toString(16).padStart(16, '0'), ambient: '0'.repeat(16) },
  noNewPrivs: false,
});
const proc = (pid: number, user: number, utsId: number, c: Credentials | null): Process => ({
  pid, ppid: 1, comm: 'sh', nspid: [pid], credentials: c,
  namespaces: { ...(Object.fromEntries(NS_LINKS.map((l) => [l, null])) as Process['namespaces']), user, uts: utsId },
});

/** A host dump: init(1) ← a(2, made by 1000) ← b(3, made by an unmapped creator as seen from a host dump: 65534 real here). */
function hostImage(): Image {
  const init = userNs(1, null, 0, 0, { initial: true, inScope: true }, [{ inside: 0, outside: 0, count: 4294967295 }]);
  return {
    inventory: { formatVersion: 2, nsdumpVersion: 'x', kernelRelease: '6.18', features: {} as Image['inventory']['features'], scope: [{ type: 'user', inode: init.inode, nsId: null, id: 1 }], rootPid: 10, unreadablePids: [], time: 0, hostname: 'h' },
    namespaces: [init, userNs(2, 1, 1000, 1), userNs(3, 2, 65534, 2), uts(10, 2), uts(11, 3)],
    processes: [proc(10, 1, 10, creds(1000, 0n)), proc(11, 2, 11, creds(0, ALL_CAPS)), proc(12, 1, 10, null), proc(13, 1, 10, creds(65534, 0n))],
    threads: [],
  } as unknown as Image;
}

test('credentials and user namespaces map onto the rule', (t) => {
  const img = hostImage();
  t.true(hasCredentials(img));
  const users = imageUsers(img);
  t.deepEqual(users.map((u) => [u.id, u.parent, u.ownerUid, u.level, u.parentHidden, u.name]), [
    [1, null, 0, 0, false, 'user#1'],
    [2, 1, 1000, 1, false, 'user#2'],
    [3, 2, 65534, 2, false, 'user#3'], // a host dump maps every uid: 65534 is a real one
  ]);
  const c = imageCredentials(img.processes[0]!)!;
  t.is(c.euid, 1000);
  t.is(c.effective, 0n);
  t.is(c.userNs, 1);
  t.is(imageCredentials(img.processes[2]!), null);
  // uid 1000 without caps owns a(2): every capability over uts#10.
  const v = capsIn(users, c, 2);
  t.is(v.rules[0]!.rule, 'owner');
  t.is(v.caps, ALL_CAPS);
  // A real 65534 on a host dump is the creator of b(3) but sits in init, not in a(2), b's parent:
  // only its (empty) effective set in init counts, as an ancestor.
  const nobody = capsIn(users, imageCredentials(img.processes[3]!)!, 3);
  t.is(nobody.rules[0]!.rule, 'ancestor');
  t.is(nobody.caps, 0n);
});

test('Y by image id, TYPE#ID, and TYPE:PID; a /proc path is for --live', (t) => {
  const img = hostImage();
  t.like(resolveImageTarget(img, 'uts#10'), { id: 10, type: 'uts', name: 'uts#10', userNs: 2 });
  t.like(resolveImageTarget(img, '11'), { id: 11, userNs: 3 });
  t.like(resolveImageTarget(img, 'user:11'), { id: 2, type: 'user', userNs: 2 });
  t.like(resolveImageTarget(img, 'uts:11'), { id: 11 });
  t.true(isImageMember(img.processes[1]!, resolveImageTarget(img, 'uts:11')));
  t.false(isImageMember(img.processes[0]!, resolveImageTarget(img, 'uts:11')));
  t.throws(() => resolveImageTarget(img, '/proc/11/ns/uts'), { instanceOf: ImageTargetError, message: /a path names a namespace of the running system/ });
  t.throws(() => resolveImageTarget(img, 'user#10'), { message: /#10 is a uts namespace, not user/ });
  t.throws(() => resolveImageTarget(img, '99'), { message: /no namespace #99/ });
  t.throws(() => resolveImageTarget(img, 'uts:99'), { message: /no process 99/ });
  t.throws(() => resolveImageTarget(img, 'bogus:11'), { message: /bogus is not a namespace type/ });
  t.throws(() => resolveImageTarget(img, 'uts'), { message: /not an image id/ });
});

test('a dump from inside a user namespace: 65534 unmapped there owns nothing; hidden parents make answers undecided', (t) => {
  // The dumper sits in c(5), level 1, whose parent it cannot see; d(6) below it was made by an uid
  // c does not map (NS_GET_OWNER_UID gave 65534); e(7) sits at level 1 too, beside c, hidden parent.
  const c = userNs(5, null, 0, 1, { inScope: true });
  const img = hostImage();
  img.inventory.scope = [{ type: 'user', inode: c.inode, nsId: null, id: 5 }];
  img.namespaces = [c, userNs(6, 5, 65534, 2), userNs(7, null, 0, 1), uts(20, 6), uts(21, null)];
  img.processes = [proc(30, 5, 20, creds(null, 0n)), proc(31, 7, 20, creds(0, ALL_CAPS)), proc(32, 5, 20, creds(0, ALL_CAPS))];
  const users = imageUsers(img);
  t.deepEqual(users.map((u) => [u.id, u.ownerUid, u.parentHidden]), [[5, 0, true], [6, null, false], [7, 0, true]]);
  // An unmapped euid and an unmapped creator never match.
  const unmapped = capsIn(users, imageCredentials(img.processes[0]!)!, 6);
  t.is(unmapped.rules[0]!.rule, 'ancestor');
  t.is(unmapped.caps, 0n);
  // e(7) is at level 1 like c(5), the top of d's known chain: not an ancestor of d, definitely.
  t.is(capsIn(users, imageCredentials(img.processes[1]!)!, 6).rules[0]!.rule, 'none');
  // Without levels, e could lie on the hidden part: undecided.
  const noLevels = users.map(({ level: _l, ...u }) => u);
  const undecided = capsIn(noLevels, imageCredentials(img.processes[1]!)!, 6);
  t.is(undecided.rules[0]!.rule, 'unknown');
  t.regex(undecided.rules[0]!.text, /cannot be decided from here/);
  // A namespace whose owner lies beyond the dumper's scope: undecided for everyone.
  const beyond = explain(users, imageCredentials(img.processes[2]!)!, resolveImageTarget(img, 'uts#21'), false, SYS_ADMIN);
  t.is(beyond.rules[0]!.rule, 'unknown');
  t.false(beyond.cap!.held);
  t.is(beyond.owner, '(beyond scope)');
  // The dumper's namespace maps 65534 after all: then it is a real uid.
  img.namespaces[0] = userNs(5, null, 0, 1, { inScope: true }, [{ inside: 0, outside: 100000, count: 65536 }]);
  t.is(imageUsers(img).find((u) => u.id === 6)!.ownerUid, 65534);
  t.is(capBit(SYS_ADMIN), 1n << 21n);
});

test('an image without credentials says so', (t) => {
  const img = hostImage();
  img.processes = img.processes.map((p) => ({ ...p, credentials: null }));
  t.false(hasCredentials(img));
});
