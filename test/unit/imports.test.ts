// Why: how modules are imported decides what the bundled command line loads at start-up. zod's
// `import { z }` form pulls its whole namespace object (every locale: 470 KB minified) into the
// bundle; `import * as z` lets esbuild keep what nsdump uses (~108 KB). Checked over the sources.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'generated' ? [] : sources(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('zod is imported as a namespace everywhere (import * as z), so the bundle keeps only what is used', (t) => {
  const offenders = sources(join(ROOT, 'src')).filter((f) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*'zod'/.test(readFileSync(f, 'utf8')));
  t.deepEqual(offenders.map((f) => f.slice(ROOT.length)), []);
});
