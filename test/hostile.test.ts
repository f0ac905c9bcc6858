// Hostile images (issue 10): every command that reads an image refuses the bad-image corpus the
// same way; image strings reach the terminal as data; image files are opened without following
// links; output paths fail with exit 6; deep and wide images are shown without recursion.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError, imageFromJson, validate } from '../src/index.js';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import { stateOf, Image } from '../src/model/image.js';
import { printable } from '../src/model/text.js';
import { nsdump, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';

const CORPUS = join(ROOT, 'fixtures', 'bad-images');
const base = (): Image => Image.parse(JSON.parse(readFileSync(join(CORPUS, 'base.json'), 'utf8')));

/** Whatever was printed holds no byte a terminal acts on: no C0 control but the line feed, no DEL, no C1. */
function inert(t: { true: (v: boolean, m?: string) => void }, text: string, what: string): void {
  t.true(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text), `${what}: ${JSON.stringify(text.slice(0, 300))}`);
}

for (const name of readdirSync(CORPUS).filter((n) => !n.endsWith('.json'))) {
  test(`bad image ${name}: show and diff refuse it as plan does (one validation path)`, (t) => {
    const expect = JSON.parse(readFileSync(join(CORPUS, name, 'expect.json'), 'utf8')) as { code: number; pattern: string };
    const dir = join(CORPUS, name);
    for (const args of [['show', dir], ['show', dir, '--tree', 'process'], ['show', dir, '-f', 'dot'], ['diff', dir, dir]]) {
      const r = nsdump(args);
      if (expect.code === 8) {
        // Sound but not plannable from here: every other command reads it.
        t.true(r.code === 0, `${args.join(' ')}: ${r.stderr}`);
        continue;
      }
      t.is(r.code, expect.code, `${args.join(' ')}: ${r.stderr}`);
      t.is(r.stdout, '');
      t.is(r.stderr.split('\n').length, 2, 'one line');
      t.regex(r.stderr, new RegExp(expect.pattern));
    }
  });
}

test('printable: controls, C1, bidi overrides and lone surrogates are shown by code; the rest is kept', (t) => {
  t.is(printable('x\u001b[2J\nFAKE'), 'x\\x1b[2J\\nFAKE');
  t.is(printable('a\tb\rc\u0000\u007f'), 'a\\tb\\rc\\x00\\x7f');
  t.is(printable('\u009b31m'), '\\u{9b}31m');
  t.is(printable('abc\u202edef'), 'abc\\u{202e}def');
  t.is(printable('\ud800x\udc00'), '\\u{d800}x\\u{dc00}');
  t.is(printable('été 😀 ↔ "q" \\'), 'été 😀 ↔ "q" \\');
});

test('show, plan, diff and error messages print image strings as data, never as terminal input', (t) => {
  const img = base();
  img.processes[0]!.comm = 'x\u001b[2J\nFAKE\u009b';
  const uts = stateOf(img.namespaces[10]!, 'uts');
  uts.hostname = 'h\u001b]0;pwn\u0007\u202e';
  img.inventory.hostname = 'inv\r\nNEXT';
  img.namespaces[10]!.stateNote = 'note\u0000';
  const dir = join(tempDir(t), 'img');
  writeImage(dir, img);
  for (const args of [['show', dir], ['show', dir, '--tree', 'process'], ['show', dir, '--tree', 'parent'], ['plan', dir]]) {
    const r = nsdump(args);
    t.is(r.code, 0, r.stderr);
    inert(t, r.stdout, args.join(' '));
  }
  t.regex(nsdump(['show', dir, '--tree', 'process']).stdout, /100 x\\x1b\[2J\\nFAKE\\u\{9b\}: /);
  // diff: the same image with another hostname; its message quotes both.
  const other = base();
  stateOf(other.namespaces[10]!, 'uts').hostname = 'plain';
  const dir2 = join(tempDir(t), 'img2');
  writeImage(dir2, other);
  const d = nsdump(['diff', dir2, dir]);
  t.is(d.code, 1, d.stderr);
  inert(t, d.stdout, 'diff');
  // An error message that quotes a path (or an image string) is one inert line.
  const e = nsdump(['show', join(tempDir(t), 'no\u001b[2Jsuch\nimage')]);
  t.is(e.code, 3);
  t.is(e.stderr.split('\n').length, 2);
  inert(t, e.stderr.slice(0, -1), 'error');
  // (A line feed in a message becomes a space: an error is one line.)
  t.regex(e.stderr, /no\\x1b\[2Jsuch image: no such image directory/);
});

test('image files: a FIFO is refused without waiting on it, a symbolic link is not followed', (t) => {
  const dir = join(tempDir(t), 'img');
  writeImage(dir, base());
  rmSync(join(dir, 'threads.img'));
  execFileSync('mkfifo', [join(dir, 'threads.img')]);
  const r = nsdump(['show', dir], { timeout: 30_000 });
  t.is(r.code, 3);
  t.regex(r.stderr, /threads\.img: not a regular file\n$/);
  const link = nsdump(['plan', join(CORPUS, 'symlinked-file')]);
  t.is(link.code, 3);
  t.notRegex(link.stderr, /root:/, 'nothing of the target is echoed');
});

test('every path error of -o is exit 6, said before anything is dumped', (t) => {
  for (const out of ['/dev/null/img', '/proc/self/status/img', `/nonexistent-${process.pid}/img`]) {
    const r = nsdump(['dump', String(process.pid), '-o', out]);
    t.is(r.code, 6, `${out}: ${r.stderr}`);
    t.is(r.stderr.split('\n').length, 2);
  }
  const json = join(tempDir(t), 'img.json');
  writeFileSync(json, JSON.stringify(base()));
  t.is(nsdump(['encode', json, '/dev/null/img']).code, 6);
});

test('the library runs the same rules: validate, plan and imageFromJson refuse an image with a duplicate pid', (t) => {
  const img = base();
  img.processes.push(structuredClone(img.processes[0]!));
  t.throws(() => validate(img), { instanceOf: ImageError, message: /pid 100 appears twice \[pidsAreUnique\]/ });
  t.throws(() => imageFromJson(JSON.stringify(img), 'x.json'), { instanceOf: ImageError, message: /^x\.json: processes: entry 2 \(pid 100\): pid 100 appears twice/ });
});

test('a process tree 20,000 deep and 20,000 wide is shown without recursion, and planned', (t) => {
  for (const shape of ['deep', 'wide'] as const) {
    const img = base();
    const root = img.processes[0]!;
    for (let i = 1; i <= 20_000; i++) img.processes.push({ ...structuredClone(root), pid: 1000 + i, ppid: shape === 'deep' ? (i === 1 ? root.pid : 999 + i) : root.pid, comm: 'c' });
    const dir = join(tempDir(t), shape);
    writeImage(dir, img);
    t.notThrows(() => readImage(dir));
    for (const args of [['show', dir, '--tree', 'process'], ['show', dir], ['plan', dir, '-f', 'json']]) {
      const r = nsdump(args, { timeout: 120_000 });
      t.is(r.code, 0, `${shape} ${args.join(' ')}: ${r.stderr.slice(0, 500)}`);
    }
  }
});

test('an --all image (root pid 0) has no root among its processes, and needs none', (t) => {
  const img = base();
  img.inventory.rootPid = null;
  const dir = join(tempDir(t), 'img');
  mkdirSync(join(dir, '..'), { recursive: true });
  writeImage(dir, img);
  t.is(nsdump(['show', dir]).code, 0);
  t.is(nsdump(['plan', dir]).code, 8, 'planned: a whole-host image has no tree to recreate');
});
