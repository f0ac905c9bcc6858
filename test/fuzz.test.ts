// The fuzzer, bounded (issue 10): a few hundred mutated real images in-process, a few through the
// command line. Every outcome is a refusal (ImageError), or an image the independent checker finds
// sound that show, diff and plan then handle; nothing escapes as an exception. The long run is
// scripts/fuzz.mjs (docs/fuzzing.md).
import test from 'ava';
import fc from 'fast-check';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, decodeImage, type FileKind } from '../src/image/codec.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { Image as ImageSchema } from '../src/model/image.js';
import { applyBytes, applyModel, byteCase, independentCheck, modelCase, runCase, seeds, type Files } from './helpers/fuzz.js';
import { ROOT } from './helpers/paths.js';
import { nsdump, tempDir } from './helpers/cli.js';

const SEEDS = seeds();
// A fixed seed: a failure is reproducible from the report fast-check prints.
const RUN = { numRuns: 300, seed: 10, endOnFailure: true } as const;

const sound = (files: Files) => {
  const o = runCase(files);
  if (o.kind === 'crash') throw new Error(`crash in ${o.where}: ${o.error}`);
  if (o.kind === 'accepted-invalid') throw new Error(`accepted an invalid image: ${o.why}`);
  return true;
};

test('byte-level mutations of real images: refused or sound, never a crash', (t) => {
  fc.assert(fc.property(byteCase(SEEDS.length), (c) => sound(applyBytes(SEEDS[c.seed]!, c))), RUN);
  t.pass();
});

test('model-level mutations (valid protobuf, absurd values): refused or sound, never a crash', (t) => {
  fc.assert(
    fc.property(modelCase(SEEDS.length), (c) => {
      const files = applyModel(SEEDS[c.seed]!, c);
      return files === undefined || sound(files);
    }),
    RUN,
  );
  t.pass();
});

test('through the command line: a documented exit code and at most one line, for show and plan', (t) => {
  const documented = new Set<number>(Object.values(EXIT).filter((c) => c !== EXIT.INTERNAL));
  const cases = [
    ...fc.sample(byteCase(SEEDS.length), { numRuns: 12, seed: 7 }).map((c) => applyBytes(SEEDS[c.seed]!, c)),
    ...fc.sample(modelCase(SEEDS.length), { numRuns: 12, seed: 7 }).flatMap((c) => applyModel(SEEDS[c.seed]!, c) ?? []),
  ];
  const root = tempDir(t);
  cases.forEach((files, i) => {
    const dir = join(root, String(i));
    mkdirSync(dir);
    for (const k of Object.keys(FILES) as FileKind[]) writeFileSync(join(dir, FILES[k].name), files[k]);
    for (const cmd of ['show', 'plan']) {
      const r = nsdump([cmd, dir]);
      t.true(r.code !== null && documented.has(r.code), `${cmd} case ${i}: exit ${r.code}: ${r.stderr}`);
      if (r.code !== 0) t.regex(r.stderr, /^nsdump: [^\n]+\n$/, `${cmd} case ${i}`);
    }
  });
});

test('the independent checker itself flags what the corpus breaks (a checker that passes everything proves nothing)', (t) => {
  const base = () => ImageSchema.parse(JSON.parse(readFileSync(join(ROOT, 'fixtures', 'bad-images', 'base.json'), 'utf8')));
  t.is(independentCheck(base()), undefined);
  const spoilt: [string, (img: ReturnType<typeof base>) => void][] = [
    ['duplicate pid', (img) => void img.processes.push(structuredClone(img.processes[0]!))],
    ['root pid missing', (img) => void (img.inventory.rootPid = 4242)],
    ['pid 100: uts link null', (img) => void (img.processes[0]!.namespaces.uts = null)],
    ['2 in-scope user namespaces', (img) => void (img.namespaces[8]!.inScope = true)],
    ['pid#10: level 4294967295', (img) => void ((img.namespaces[9]!.state as { level: number }).level = 4294967295)],
  ];
  for (const [why, spoil] of spoilt) {
    const img = base();
    spoil(img);
    t.is(independentCheck(img), why);
  }
});

// read.ts parses an image under 2 MiB with zod's interpreted parsers and a larger one with its
// compiled ones: every test image is small, so the two must agree on what zod is given, whatever
// it is — the result, the defaults applied, and every issue in order (the first is the message).
test("zod's interpreted and compiled parsers agree on mutated decoded images", (t) => {
  const raws = SEEDS.map((f) => decodeImage(f));
  const keyPaths = (o: unknown, at: string[] = [], out: string[][] = []): string[][] => {
    if (o && typeof o === 'object' && !(o instanceof Uint8Array)) {
      for (const [k, v] of Object.entries(o)) {
        out.push([...at, k]);
        keyPaths(v, [...at, k], out);
      }
    }
    return out;
  };
  const paths = raws.map((r) => keyPaths(r));
  const value = fc.constantFrom<unknown>(undefined, null, 0, -1, 1.5, Number.NaN, 2 ** 53, '', 'x', true, [], {}, [{}], 2n ** 70n, new Uint8Array(2));
  const edit = fc.tuple(fc.nat(), fc.constantFrom('set', 'delete', 'add'), value);
  const text = (r: ReturnType<typeof ImageSchema.safeParse>) =>
    JSON.stringify(r.success ? { data: r.data } : { issues: r.error.issues }, (_, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v === undefined ? 'undefined' : v,
    );
  let refused = 0;
  fc.assert(
    fc.property(fc.nat(SEEDS.length - 1), fc.array(edit, { minLength: 1, maxLength: 4 }), (seed, edits) => {
      const raw = structuredClone(raws[seed]) as Record<string, unknown>;
      for (const [i, op, v] of edits) {
        const path = paths[seed]![i % paths[seed]!.length]!;
        let o: unknown = raw;
        for (const k of path.slice(0, -1)) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
        if (!o || typeof o !== 'object') continue;
        const obj = o as Record<string, unknown>;
        const k = path.at(-1)!;
        if (op === 'set') obj[k] = v;
        else if (op === 'delete') delete obj[k];
        else obj[`${k}Extra`] = v;
      }
      const interpreted = ImageSchema.safeParse(structuredClone(raw), { jitless: true });
      const compiled = ImageSchema.safeParse(structuredClone(raw), { jitless: false });
      if (!interpreted.success) refused++;
      return text(interpreted) === text(compiled);
    }),
    RUN,
  );
  // Most cases must be refusals, or the agreement says little about the messages.
  t.true(refused > RUN.numRuns / 2, `${refused} of ${RUN.numRuns} refused`);
});
