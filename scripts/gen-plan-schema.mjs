#!/usr/bin/env node
// Writes docs/plan.schema.json from the plan's zod schema (src/plan/schema.ts, compiled), so the
// JSON contract of `nsdump plan --format json` is documented by the code that defines it.
// Run by `npm run build`; a test checks that the committed file matches.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { Plan } from '../dist/src/plan/schema.js';

// zod's own converter (zod 4); the plan is what `plan -f json` prints, so its output side.
const schema = { title: 'nsdump plan (nsdump plan --format json)', ...z.toJSONSchema(Plan, { io: 'output', reused: 'inline' }) };
writeFileSync(new URL('../docs/plan.schema.json', import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
