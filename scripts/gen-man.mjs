#!/usr/bin/env node
// Writes dist/man/nsdump.1 (package.json "man") from the command line's option table, through
// src/cli/man.ts (compiled). Run by `npm run build`. The date is the last commit's where there is
// one (SOURCE_DATE_EPOCH wins), so that two builds of one commit give the same page.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { manPage } from '../dist/src/cli/man.js';
import { NSDUMP_VERSION } from '../dist/src/model/format.js';

const top = new URL('..', import.meta.url);
let seconds = Number(process.env.SOURCE_DATE_EPOCH);
if (!seconds) {
  try {
    seconds = Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: top, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    seconds = Date.now() / 1000;
  }
}
const date = new Date((seconds || Date.now() / 1000) * 1000).toISOString().slice(0, 10);
mkdirSync(new URL('../dist/man/', import.meta.url), { recursive: true });
writeFileSync(new URL('../dist/man/nsdump.1', import.meta.url), manPage(NSDUMP_VERSION, date));
