import test from 'ava';
import { composeMap, decomposeMap, parseIdMap } from '../../src/model/idmap.js';

const parent = [
  { inside: 0, outside: 0, count: 1 },
  { inside: 1, outside: 100000, count: 999 },
  { inside: 1000, outside: 300000, count: 500 },
];

test('parses uid_map text, ignoring blank lines', (t) => {
  t.deepEqual(parseIdMap('         0     100000       1000\n      1000     300000        500\n\n'), [
    { inside: 0, outside: 100000, count: 1000 },
    { inside: 1000, outside: 300000, count: 500 },
  ]);
});

test('decompose undoes compose, extent by extent', (t) => {
  const rel = [
    { inside: 0, outside: 0, count: 1 },
    { inside: 10, outside: 10, count: 5 },
    { inside: 100, outside: 1000, count: 20 },
  ];
  const abs = composeMap(rel, parent);
  t.deepEqual(abs, [
    { inside: 0, outside: 0, count: 1 },
    { inside: 10, outside: 100009, count: 5 },
    { inside: 100, outside: 300000, count: 20 },
  ]);
  t.deepEqual(decomposeMap(abs, parent), rel);
});

test('a range that does not fit one extent of the parent is an error, not a guess', (t) => {
  t.throws(() => decomposeMap([{ inside: 0, outside: 100990, count: 20 }], parent), { message: /does not fall in one extent/ });
  t.throws(() => composeMap([{ inside: 0, outside: 1500, count: 1 }], parent), { message: /not mapped in the parent/ });
});
