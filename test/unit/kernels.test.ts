// What a target kernel can make, judged from the version table alone.
import test from 'ava';
import { KERNEL_FACTS, atLeast, cannotMake, has, parseKernelVersion } from '../../src/model/kernels.js';
import { NS_TYPES } from '../../src/model/species.js';
import { TargetError, targetOf } from '../../src/plan/target.js';

test('versions compare by major, then minor', (t) => {
  t.deepEqual(parseKernelVersion('6.18'), [6, 18]);
  for (const bad of ['6', '6.18.1', 'six', '6.x', '', ' 6.1']) t.is(parseKernelVersion(bad), undefined, bad);
  t.true(atLeast([5, 10], [5, 6]));
  t.true(atLeast([6, 0], [5, 9]));
  t.false(atLeast([5, 4], [5, 6]));
  t.true(has([5, 8], 'setns-pidfd'));
  t.false(has([5, 8], 'setns-pidfd-time'));
});

test('every namespace type has its first kernel in the table', (t) => {
  for (const type of NS_TYPES) t.truthy(KERNEL_FACTS.find((f) => f.key === `ns:${type}`), type);
});

test('one sentence names what the kernel cannot make and since when', (t) => {
  const made = [
    { type: 'user' as const, id: 2 },
    { type: 'time' as const, id: 8 },
    { type: 'time' as const, id: 9 },
    { type: 'cgroup' as const, id: 5 },
  ];
  t.is(cannotMake([4, 0], made), 'Linux 4.0 cannot make cgroup namespaces (4.6): cgroup#5; time namespaces (5.6): time#8, time#9');
  t.is(cannotMake([5, 4], made), 'Linux 5.4 cannot make time namespaces (5.6): time#8, time#9');
  t.is(cannotMake([5, 6], made), null);
  t.is(cannotMake([3, 0], []), null, 'nothing to make, nothing missing');
});

test('--kernel decides setns(pidfd) by version; --no-pidfd wins', (t) => {
  t.deepEqual(targetOf({ kernel: '5.4' }), { kernel: '5.4', pidfd: false });
  t.deepEqual(targetOf({ kernel: '5.8' }), { kernel: '5.8', pidfd: true });
  t.deepEqual(targetOf({ kernel: '06.1' }), { kernel: '6.1', pidfd: true });
  t.deepEqual(targetOf({ kernel: '6.18', pidfd: false }), { kernel: '6.18', pidfd: false });
  t.throws(() => targetOf({ kernel: 'six' }), { instanceOf: TargetError, message: '--kernel six: expected X.Y, such as 6.18' });
});
