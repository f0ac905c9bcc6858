import test from 'ava';
import { PF_KTHREAD, parseMountinfo, parseNsPid, parseStat, unescapeOctal } from '../../src/discover/procfs.js';
import { cgroupPath, deriveCgroupRoot } from '../../src/discover/state/cgroup.js';
import { parseTimensOffsets } from '../../src/discover/state/simple.js';
import { parseNsLink } from '../../src/model/species.js';

test('stat: a comm holding ") " does not shift the fields', (t) => {
  t.deepEqual(parseStat('42 (evil) S 1 (x) S 7 42 42 0 -1 4194560 90 0'), { comm: 'evil) S 1 (x', state: 'S', ppid: 7, flags: 4194560 });
});

test('stat: the flags field tells a kernel thread (PF_KTHREAD)', (t) => {
  t.true((parseStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0').flags & PF_KTHREAD) !== 0);
  t.is(parseStat('42 (sh) S 1 42 42 0 -1 4194560 90 0').flags & PF_KTHREAD, 0);
});

test('NSpid lists the pid outermost first', (t) => {
  t.deepEqual(parseNsPid('Name:\tsleep\nNSpid:\t9400\t4\t1\nNStgid:\t9400\n'), [9400, 4, 1]);
});

test('nsfs link targets, and what is not one', (t) => {
  t.deepEqual(parseNsLink('pid_for_children:[4026531836]'), ['pid_for_children', 4026531836]);
  t.is(parseNsLink('/dev/null'), undefined);
  t.deepEqual(parseNsLink('socket:[123]'), ['socket', 123]);
});

test('mountinfo: optional fields, escaped paths, nsfs roots', (t) => {
  const [m] = parseMountinfo('42 27 0:4 uts:[4026532177] /tmp/with\\040space rw shared:2 master:1 - nsfs nsfs rw\n');
  t.deepEqual(m, { id: 42, parentId: 27, device: '0:4', root: 'uts:[4026532177]', mountPoint: '/tmp/with space', options: 'rw', fsType: 'nsfs', source: 'nsfs', superOptions: 'rw' });
  t.is(unescapeOctal('a\\011b\\134c'), 'a\tb\\c');
});

test('timens_offsets, negative seconds included', (t) => {
  t.deepEqual(parseTimensOffsets('monotonic        -5         7\nboottime      4000         0\n'), { monotonic: { seconds: -5, nanoseconds: 7 }, boottime: { seconds: 4000, nanoseconds: 0 } });
  t.throws(() => parseTimensOffsets('monotonic 1 0\n'), { message: /no boottime line/ });
});

test('cgroup namespace root: outside minus the inside suffix, unknown above the root', (t) => {
  t.is(cgroupPath('9:name=systemd:/\n1:cpu:/\n0::/a/b/c\n'), '/a/b/c');
  t.is(cgroupPath('3:cpu:/x\n'), '/x');
  t.is(deriveCgroupRoot('/a/b/c', '/'), '/a/b/c');
  t.is(deriveCgroupRoot('/a/b/c', '/c'), '/a/b');
  t.is(deriveCgroupRoot('/a/b', '/a/b'), '/');
  t.is(deriveCgroupRoot('/a/z', '/../z'), '');
  t.is(deriveCgroupRoot('/a/b', '/q'), '');
});
