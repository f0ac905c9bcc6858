// The capability rule of user_namespaces(7)/capabilities(7) on tables of cases: membership,
// ancestors, the owner of a child namespace, and none; unmapped uids never own.
import test from 'ava';
import { ALL_CAPS, capBit, capList, capNumber, capsIn, describeSet, parseStatus, whyNotEffective, type Credentials, type UserNs } from '../../src/model/caps.js';

const SYS_ADMIN = capNumber('CAP_SYS_ADMIN')!;
const NET_ADMIN = capNumber('net_admin')!;

// init(1) ← a(2, made by uid 1000) ← b(3, made by uid 0 inside a) ; init ← c(4, made by uid 0) ; a ← d(5, made by an unmapped uid)
const USERS: UserNs[] = [
  { id: 1, parent: null, ownerUid: 0, name: 'init' },
  { id: 2, parent: 1, ownerUid: 1000, name: 'a' },
  { id: 3, parent: 2, ownerUid: 1000, name: 'b' },
  { id: 4, parent: 1, ownerUid: 0, name: 'c' },
  { id: 5, parent: 2, ownerUid: null, name: 'd' },
];

const cred = (over: Partial<Credentials>): Credentials => ({ pid: 42, userNs: 1, uid: 0, euid: 0, effective: 0n, permitted: 0n, inheritable: 0n, bounding: ALL_CAPS, ambient: 0n, noNewPrivs: false, ...over });

const CASES: [string, Partial<Credentials>, number, 'member' | 'ancestor' | 'owner' | 'none', boolean][] = [
  // name, credentials, target user ns, rule, holds CAP_SYS_ADMIN
  ['root of init over init', { effective: ALL_CAPS }, 1, 'member', true],
  ['root of init over a grandchild', { effective: ALL_CAPS }, 3, 'ancestor', true],
  ['root of init with SYS_ADMIN dropped, over a child it does not own', { effective: ALL_CAPS & ~capBit(SYS_ADMIN) }, 2, 'ancestor', false],
  ['uid 1000 without caps owns a: all caps there', { uid: 1000, euid: 1000 }, 2, 'owner', true],
  ['uid 1000 without caps owns a, so b below it too', { uid: 1000, euid: 1000 }, 3, 'owner', true],
  ['uid 1000 without caps does not own c: only its empty set in init counts', { uid: 1000, euid: 1000 }, 4, 'ancestor', false],
  ['euid, not uid, counts for ownership', { uid: 1000, euid: 2000 }, 2, 'ancestor', false],
  ['the owner rule wins over empty CapEff in the parent', { uid: 0, euid: 0, effective: 0n }, 4, 'owner', true],
  ['member of a with CapEff empty', { userNs: 2, euid: 0, effective: 0n }, 2, 'member', false],
  ['member of a with SYS_ADMIN', { userNs: 2, euid: 0, effective: capBit(SYS_ADMIN) }, 2, 'member', true],
  ['member of a, euid 1000 = b\'s creator: owner of b', { userNs: 2, euid: 1000, effective: 0n }, 3, 'owner', true],
  ['member of b over its parent a: never upwards', { userNs: 3, euid: 0, effective: ALL_CAPS }, 2, 'none', false],
  ['member of a over sibling c', { userNs: 2, euid: 0, effective: ALL_CAPS }, 4, 'none', false],
  ['an unmapped creator owns nothing, even for an unmapped euid', { userNs: 2, euid: null, effective: 0n }, 5, 'ancestor', false],
  ['member of a with caps over d (ancestor)', { userNs: 2, euid: 5, effective: capBit(SYS_ADMIN) }, 5, 'ancestor', true],
];

for (const [name, over, target, rule, holds] of CASES) {
  test(`caps: ${name}`, (t) => {
    const v = capsIn(USERS, cred(over), target);
    t.is(v.rules[0]!.rule, rule, v.rules[0]!.text);
    t.is((v.caps & capBit(SYS_ADMIN)) !== 0n, holds);
    if (rule === 'owner') t.is(v.caps, ALL_CAPS);
    if (rule === 'none') t.is(v.caps, 0n);
    if (rule === 'member' || rule === 'ancestor') t.is(v.caps, cred(over).effective);
    t.regex(v.rules[0]!.text, /pid 42/);
  });
}

test('the words name the namespaces and the ids a person can check', (t) => {
  t.regex(capsIn(USERS, cred({ uid: 1000, euid: 1000 }), 3).rules[0]!.text, /^a was created by euid 1000, which is pid 42's euid, and its parent init is pid 42's user namespace: .* in a and so in b below it/);
  t.regex(capsIn(USERS, cred({ userNs: 2, effective: ALL_CAPS }), 4).rules[0]!.text, /pid 42 is in a, which is neither c nor one of its ancestors \(c ← init\)/);
  t.regex(capsIn(USERS, cred({ uid: 1000, euid: 1000 }), 4).rules[0]!.text, /it does not own c, its child on the way: that was created by euid 0, not by pid 42's euid 1000/);
  t.regex(capsIn(USERS, cred({ effective: ALL_CAPS & ~capBit(NET_ADMIN) }), 1).rules[0]!.text, /all but CAP_NET_ADMIN/);
});

test('why a capability is not effective', (t) => {
  t.regex(whyNotEffective(cred({ permitted: capBit(SYS_ADMIN) }), SYS_ADMIN), /permitted but not effective/);
  t.regex(whyNotEffective(cred({ bounding: ALL_CAPS & ~capBit(SYS_ADMIN) }), SYS_ADMIN), /bounding set/);
  t.regex(whyNotEffective(cred({}), SYS_ADMIN), /not permitted/);
  t.regex(whyNotEffective(cred({ effective: capBit(SYS_ADMIN) }), SYS_ADMIN), /is effective/);
});

test('names and masks', (t) => {
  t.is(capNumber('CAP_SYS_ADMIN'), 21);
  t.is(capNumber('sys_admin'), 21);
  t.is(capNumber('CAP_CHECKPOINT_RESTORE'), 40);
  t.is(capNumber('CAP_NOPE'), undefined);
  t.deepEqual(capList(0x200000n | 1n), ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  t.deepEqual(capList(1n << 45n), ['cap_45']);
  t.is(describeSet(0n), 'empty');
  t.is(describeSet(ALL_CAPS), 'all capabilities');
});

test('/proc/PID/status → credentials', (t) => {
  const status = 'Name:\tsh\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t0000000000200000\nCapEff:\t0000000000200000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000200000\nNoNewPrivs:\t1\n';
  const c = parseStatus(status);
  t.is(c.uid, 1000);
  t.is(c.euid, 1001);
  t.is(c.effective, capBit(SYS_ADMIN));
  t.is(c.ambient, capBit(SYS_ADMIN));
  t.is(c.bounding, ALL_CAPS);
  t.true(c.noNewPrivs);
});
