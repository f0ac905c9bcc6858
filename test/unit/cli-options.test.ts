// The option table's pure parts: value checks, suggestions, word wrapping.
import test from 'ava';
import { UsageError } from '../../src/cli/exit-codes.js';
import { table, wrapWords } from '../../src/cli/help.js';
import { COMMANDS, checkValue, distance, suggestion } from '../../src/cli/options.js';

test('values are checked and named', (t) => {
  const retries = COMMANDS.find((c) => c.name === 'dump')!.options.find((o) => o.name === 'retries')!;
  t.is(checkValue(retries, '0'), 0);
  t.is(checkValue(retries, '12'), 12);
  for (const bad of ['-1', 'abc', '1.5', '1e3', ' 1']) t.throws(() => checkValue(retries, bad), { instanceOf: UsageError, message: `--retries ${bad}: not a non-negative integer` });
  t.throws(() => checkValue(retries, ''), { message: '--retries: needs a value (N)' });
  const format = COMMANDS.find((c) => c.name === 'plan')!.options.find((o) => o.name === 'format')!;
  t.is(checkValue(format, 'sh'), 'sh');
  t.throws(() => checkValue(format, 'xml'), { message: '-f, --format xml: expected one of text, json, sh' });
});

test('suggestions only for near misses', (t) => {
  t.is(distance('dumb', 'dump'), 1);
  t.is(suggestion('dumb', ['dump', 'show']), ' (did you mean dump?)');
  t.is(suggestion('retrys', ['retries', 'quiet'], '--'), ' (did you mean --retries?)');
  t.is(suggestion('frobnicate', ['dump', 'show', 'plan']), '');
  t.is(suggestion('x', ['dump']), '');
});

test('every command and option is named once', (t) => {
  t.is(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
  for (const c of COMMANDS) {
    const names = c.options.flatMap((o) => [o.name, ...(o.short ? [o.short] : [])]);
    t.is(new Set(names).size, names.length, c.name);
    for (const o of c.options) if (o.kind === 'choice') t.truthy(o.choices?.length, `${c.name} --${o.name}`);
  }
});

test('wrapping keeps words whole, and a word longer than the line alone on it', (t) => {
  t.deepEqual(wrapWords('one two three four', 9), ['one two', 'three', 'four']);
  t.deepEqual(wrapWords('a supercalifragilistic b', 5), ['a', 'supercalifragilistic', 'b']);
  t.deepEqual(table([['-x', 'short']], 40), [' -x  short']);
  const narrow = table([['--a-long-option NAME', 'does things to it']], 30);
  t.deepEqual(narrow, [' --a-long-option NAME', '     does things to it']);
});
