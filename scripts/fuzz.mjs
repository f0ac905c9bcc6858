#!/usr/bin/env node
// The long fuzz run (issue 10): N cases (default 100,000), half byte-level mutations of real
// images, half model-level ones, each through the reader and, when accepted, show, diff and plan
// (test/helpers/fuzz.ts). Prints the tally as a Markdown table row for docs/fuzzing.md; every crash
// or accepted-invalid image is saved under fuzz-findings/ for a fixture. Needs `npm run build`.
// Run: node scripts/fuzz.mjs [N] [SEED]
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES } from '../dist/src/image/codec.js';
import { applyBytes, applyModel, byteCase, modelCase, runCase, seeds } from '../dist/test/helpers/fuzz.js';

const total = Number(process.argv[2] ?? 100_000);
const seed0 = Number(process.argv[3] ?? 1);
const SEEDS = seeds();
const tally = { refused: 0, accepted: 0, planned: 0, unencodable: 0, crash: 0, 'accepted-invalid': 0 };
const findings = [];
const BATCH = 1000;
const started = performance.now();
let done = 0;
for (let b = 0; done < total; b++) {
  const n = Math.min(BATCH, total - done);
  const half = Math.ceil(n / 2);
  const inputs = [
    ...fc.sample(byteCase(SEEDS.length), { numRuns: half, seed: seed0 * 100_003 + b }).map((c) => ({ how: 'bytes', files: applyBytes(SEEDS[c.seed], c) })),
    ...fc.sample(modelCase(SEEDS.length), { numRuns: n - half, seed: seed0 * 100_003 + b }).map((c) => ({ how: 'model', files: applyModel(SEEDS[c.seed], c) })),
  ];
  for (const { how, files } of inputs) {
    done++;
    if (!files) {
      tally.unencodable++;
      continue;
    }
    const o = runCase(files);
    tally[o.kind]++;
    if (o.kind === 'accepted' && o.planned) tally.planned++;
    if (o.kind === 'crash' || o.kind === 'accepted-invalid') {
      const dir = join('fuzz-findings', `${o.kind}-${findings.length + 1}`);
      mkdirSync(dir, { recursive: true });
      for (const k of Object.keys(FILES)) writeFileSync(join(dir, FILES[k].name), files[k]);
      writeFileSync(join(dir, 'outcome.txt'), `${how}\n${JSON.stringify(o, null, 2)}\n`);
      findings.push(dir);
    }
  }
  if (b % 10 === 9) process.stderr.write(`${done} cases, ${JSON.stringify(tally)}\n`);
}
const secs = (performance.now() - started) / 1000;
console.log(`| cases | refused (exit 3) | accepted | of which planned | unencodable edits | crashes | accepted-invalid | seconds |`);
console.log(`| ${done} | ${tally.refused} | ${tally.accepted} | ${tally.planned} | ${tally.unencodable} | ${tally.crash} | ${tally['accepted-invalid']} | ${secs.toFixed(0)} |`);
if (findings.length) console.log(`findings: ${findings.join(' ')}`);
process.exitCode = tally.crash || tally['accepted-invalid'] ? 1 : 0;
