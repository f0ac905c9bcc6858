// The one table of namespace types: its lists agree with each other, and its util-linux option
// names with what the installed unshare and nsenter accept.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { CLONE_FLAGS, JOIN_ORDER, NS_TYPES, SPECIES, UTIL_LINUX_OPTION, isHierarchical, nsTypeFromLinkName, typeOfFlag } from '../../src/model/species.js';

test('every type has one distinct CLONE_NEW* flag, found again from the flag', (t) => {
  t.is(new Set(Object.values(CLONE_FLAGS)).size, NS_TYPES.length);
  for (const type of NS_TYPES) {
    t.is(typeOfFlag(CLONE_FLAGS[type]), type);
    t.is(nsTypeFromLinkName(SPECIES[type].link), type);
  }
  t.is(typeOfFlag(0x1), undefined);
});

test('one namespace at a time: every type once, the user namespace last', (t) => {
  t.deepEqual([...JOIN_ORDER].sort(), [...NS_TYPES].sort());
  t.is(JOIN_ORDER.at(-1), 'user');
  t.deepEqual(NS_TYPES.filter(isHierarchical), ['user', 'pid']);
});

test('util-linux unshare and nsenter take the option names the table gives', (t) => {
  for (const prog of ['unshare', 'nsenter']) {
    const help = spawnSync(prog, ['--help'], { encoding: 'utf8' }).stdout;
    for (const type of NS_TYPES) {
      const s = SPECIES[type];
      t.regex(help, new RegExp(`-${s.utilShort}, --${UTIL_LINUX_OPTION[type]}\\[=<file>\\]`), `${prog} ${type}`);
    }
  }
});
