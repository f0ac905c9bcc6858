// Why: 64-bit kernel values (NS_GET_ID, inventory ids) travel as decimal strings; the schema must
// take every one up to 2^64 - 1 and nothing above, whatever shortcut it takes to decide.
import test from 'ava';
import { u64 } from '../../src/model/image.js';

test('u64: every decimal up to 2^64 - 1, nothing above it, no sign, no leading zero', (t) => {
  for (const ok of ['0', '1', '4294967296', '9007199254740993', '9999999999999999999', '10000000000000000000', '18446744073709551615']) t.true(u64.safeParse(ok).success, ok);
  for (const bad of ['18446744073709551616', '18446744073709551617', '99999999999999999999', '100000000000000000000', '-1', '01', '', '1e3', ' 1']) t.false(u64.safeParse(bad).success, bad);
});
