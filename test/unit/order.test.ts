import test from 'ava';
import { CycleError, type OrderNode, topoOrder } from '../../src/model/order.js';

const n = (key: string, type: OrderNode['type'], sortKey: number, owner: string | null, parent: string | null = null): OrderNode => ({ key, type, sortKey: BigInt(sortKey), owner, parent });

test('user namespaces first, owners and parents before what depends on them', (t) => {
  const order = topoOrder([
    n('uts-b', 'uts', 1, 'user-2'),
    n('pid-2', 'pid', 5, 'user-2', 'pid-1'),
    n('user-2', 'user', 9, 'user-1', 'user-1'),
    n('pid-1', 'pid', 7, 'user-1'),
    n('user-1', 'user', 50, null),
  ]);
  t.deepEqual(order, ['user-1', 'user-2', 'pid-1', 'pid-2', 'uts-b']);
});

test('ties break by type rank, then kernel id: the input order does not matter', (t) => {
  const nodes = [n('net-9', 'net', 9, 'u'), n('net-3', 'net', 3, 'u'), n('ipc-1', 'ipc', 1, 'u'), n('u', 'user', 100, null), n('mnt-4', 'mnt', 4, 'u')];
  const a = topoOrder(nodes);
  const b = topoOrder([...nodes].reverse());
  t.deepEqual(a, ['u', 'mnt-4', 'net-3', 'net-9', 'ipc-1']);
  t.deepEqual(a, b);
});

test('64-bit kernel ids compare as numbers, not strings', (t) => {
  const order = topoOrder([n('a', 'uts', 0, null), n('b', 'uts', 0, null)].map((x, i) => ({ ...x, sortKey: i === 0 ? 18446744073709551615n : 9n })));
  t.deepEqual(order, ['b', 'a']);
});

test('a cycle is reported with its path', (t) => {
  t.throws(() => topoOrder([n('x', 'user', 1, 'y', 'y'), n('y', 'user', 2, 'x', 'x')]), { instanceOf: CycleError, message: /x → y → x/ });
});
