#!/usr/bin/env node
// Writes docs/image.schema.json from the image's zod schemas (src/model/image.ts, through
// src/image/json.ts, compiled): the JSON `nsdump show --json` prints and `nsdump encode` takes.
// Run by `npm run build`; a test checks that the committed file matches.
import { writeFileSync } from 'node:fs';
import { imageJsonSchema } from '../dist/src/image/json.js';

const schema = { title: 'nsdump image (nsdump show --json, nsdump encode)', ...imageJsonSchema() };
writeFileSync(new URL('../docs/image.schema.json', import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
