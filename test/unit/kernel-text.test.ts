// The one spelling of a name the kernel keeps as bytes (model/kernel-text.ts): pure logic.
import test from 'ava';
import { KernelText, kernelBytes, kernelText, lossyText, quotedText, shownText } from '../../src/model/kernel-text.js';
import { printfB } from '../../src/plan/render-sh.js';

const b = (...x: number[]) => Buffer.from(x);

test('UTF-8 bytes are a string (a BOM kept); others are lowercase hex; both give back the very bytes', (t) => {
  t.is(kernelText(Buffer.from('héllo')), 'héllo');
  t.is(kernelText(b(0xef, 0xbb, 0xbf, 0x61)), '\ufeffa');
  t.deepEqual(kernelText(b(0xff, 0xfe, 0x80)), { hex: 'fffe80' });
  // CESU-8 of a surrogate and an overlong slash are not UTF-8 either.
  t.deepEqual(kernelText(b(0xed, 0xa0, 0x80)), { hex: 'eda080' });
  t.deepEqual(kernelText(b(0xc0, 0xaf)), { hex: 'c0af' });
  for (const bytes of [b(0xff, 0xfe, 0x80), Buffer.from('\ufeffa'), b(0x61, 0xe9), b()]) t.true(kernelBytes(kernelText(bytes)).equals(bytes));
  t.is(lossyText({ hex: '61ff' }), 'a\ufffd');
});

test('the schema takes one spelling per value: no hex of UTF-8, no uppercase, no lone surrogate', (t) => {
  t.true(KernelText.safeParse({ hex: 'fffe80' }).success);
  t.true(KernelText.safeParse('plain').success);
  t.false(KernelText.safeParse({ hex: '6162' }).success, 'UTF-8 as hex');
  t.false(KernelText.safeParse({ hex: 'FF' }).success, 'uppercase');
  t.false(KernelText.safeParse({ hex: 'f' }).success, 'half a byte');
  t.false(KernelText.safeParse({ hex: 'ff', extra: 1 }).success, 'unknown key');
  t.false(KernelText.safeParse('a\ud800').success, 'lone surrogate');
  t.true(KernelText.safeParse('a\ud83d\ude00').success, 'a pair is fine');
});

test('text shows each stray byte as \\xHH between UTF-8 runs; sh gets printf %b octal', (t) => {
  const v = kernelText(b(0x61, 0xff, 0x5c, 0xc3, 0xa9, 0x22, 0xe2, 0x82));
  t.is(shownText(v), 'a\\xff\\é"\\xe2\\x82');
  t.is(quotedText(v), '"a\\xff\\\\é\\"\\xe2\\x82"');
  t.is(quotedText('a"b'), JSON.stringify('a"b'));
  t.is(printfB(v), 'a\\0377\\\\é"\\0342\\0202');
  t.is(printfB('back\\slash'), 'back\\\\slash');
});
