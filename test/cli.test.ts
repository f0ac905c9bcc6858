// The command line as util-linux users expect it: usage errors as one line naming the argument,
// suggestions, -V, help <cmd>, -J, help text that never breaks a word, completion, the man page,
// and the exit codes the README documents (EACCES on an image: 5).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'ava';
import { COMMANDS, GLOBAL_OPTIONS } from '../src/cli/options.js';
import { readImage } from '../src/image/read.js';
import { writeImage } from '../src/image/write.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { AS_NOBODY, stageCli } from './helpers/other-uid.js';
import { CLI, ROOT } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

const usage = test.macro((t, args: string[], line: RegExp) => {
  const r = nsdump(args);
  t.is(r.code, 2, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^nsdump: [^\n]*\n$/, 'one line');
  t.regex(r.stderr, line);
});

test('nsdump alone', usage, [], /^nsdump: a command is required: dump, show, plan, .*usage: nsdump <command>/);
test('a misspelt command', usage, ['dumb', '1'], /^nsdump: dumb: unknown command \(did you mean dump\?\)\n$/);
test('a misspelt option', usage, ['dump', '1', '--retrys', '3'], /^nsdump: dump: unknown option --retrys \(did you mean --retries\?\)\n$/);
test('a missing <pid>', usage, ['dump'], /^nsdump: dump: missing <pid> \(or --all\) \(usage: nsdump dump \(<pid> \| --all\) \[options\]\)\n$/);
test('a pid and --all', usage, ['dump', '1', '--all'], /^nsdump: dump takes a pid or --all, not both\n$/);
test('caps without --ns', usage, ['caps', '--live'], /^nsdump: caps: missing --ns Y/);
test('a missing <b>', usage, ['diff', '/tmp'], /^nsdump: diff: missing <b> /);
test('one argument too many', usage, ['show', 'a', 'b'], /^nsdump: show: unexpected argument b /);
test('plan -f xml', usage, ['plan', '/nonexistent', '-f', 'xml'], /^nsdump: -f, --format xml: expected one of text, json, sh\n$/);
test('-o without a value', usage, ['dump', '1', '-o'], /^nsdump: -o, --output: needs a value \(DIR\)\n$/);
test('--retries abc', usage, ['dump', '1', '--retries', 'abc'], /^nsdump: --retries abc: not a non-negative integer\n$/);
test('--retries=-5', usage, ['dump', '1', '--retries=-5'], /^nsdump: --retries -5: not a non-negative integer\n$/);
test('restore --set x', usage, ['restore', '/nonexistent', '--set', 'x', '--hold'], /^nsdump: --set x: not a non-negative integer\n$/);
test('help of an unknown command', usage, ['help', 'shw'], /^nsdump: shw: unknown command \(did you mean show\?\)\n$/);
test('completion for an unknown shell', usage, ['completion', 'fish'], /^nsdump: completion: fish: expected one of bash, zsh\n$/);
test('--kernel that is no version', usage, ['plan', '/nonexistent', '--kernel', 'six'], /^nsdump: --kernel six: expected X\.Y, such as 6\.18\n$/);

test('-V, --version, help, help <cmd>, <cmd> --help', (t) => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  for (const v of [['-V'], ['--version']]) t.deepEqual(nsdump(v), { code: 0, stdout: `nsdump ${version}\n`, stderr: '' });
  const main = nsdump(['help']);
  t.is(main.code, 0);
  t.deepEqual(nsdump(['--help']).stdout, main.stdout);
  for (const c of COMMANDS) t.true(main.stdout.includes(` ${c.name}`), c.name);
  const dump = nsdump(['help', 'dump']);
  t.is(dump.code, 0);
  t.regex(dump.stdout, /^Usage: nsdump dump \(<pid> \| --all\) \[options\]\n/);
  t.is(nsdump(['dump', '--help']).stdout, dump.stdout);
  t.is(nsdump(['dump', '-h']).stdout, dump.stdout);
  t.false(nsdump(['help', 'restore']).stdout.includes('events-fd'), 'hidden options stay hidden');
});

/** The words of a text: a word broken across lines would show up as two new ones. */
const words = (s: string) => s.split(/\s+/).filter(Boolean).sort();

test('help is wrapped at 40, 80 and 200 columns, never inside a word', (t) => {
  for (const args of [['--help'], ...COMMANDS.map((c) => ['help', c.name])]) {
    const at = (cols: number) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, COLUMNS: String(cols) } }).stdout;
    const wide = at(200);
    for (const cols of [40, 80]) {
      const text = at(cols);
      t.deepEqual(words(text), words(wide), `${args.join(' ')} at ${cols} columns keeps every word whole`);
      const over = text.split('\n').filter((l) => l.length > cols && /\s\S/.test(l.trimStart()));
      t.deepEqual(over, [], `${args.join(' ')} at ${cols}: only a single word too long for the line may stick out`);
    }
  }
});

test('-J is --json wherever --json exists', async (t) => {
  for (const c of COMMANDS) {
    const json = c.options.find((o) => o.name === 'json');
    if (json) t.is(json.short, 'J', c.name);
  }
  const topo = await startTopology(t, 'pid-nested');
  const { dir } = dumpToJson(t, topo.pid);
  t.is(nsdump(['show', dir, '-J']).stdout, nsdump(['show', dir, '--json']).stdout);
  t.is(nsdump(['diff', dir, dir, '-J']).stdout, nsdump(['diff', dir, dir, '--json']).stdout);
});

test('plan --kernel: what that kernel cannot make, in one line, exit 8', async (t) => {
  const topo = await startTopology(t, 'time-nested');
  const { dir } = dumpToJson(t, topo.pid);
  const r = nsdump(['plan', dir, '--kernel', '5.4']);
  t.is(r.code, 8);
  t.regex(r.stderr, /^nsdump: Linux 5\.4 cannot make time namespaces \(5\.6\): time#\d+(, time#\d+)*\n$/);
  t.is(nsdump(['plan', dir, '--kernel', '5.6', '-f', 'json']).code, 0);
});

test('an image the caller may not read: exit 5, one line', async (t) => {
  const topo = await startTopology(t, 'pid-nested');
  const { dir } = dumpToJson(t, topo.pid);
  const staged = stageCli(t);
  chmodSync(dirname(dir), 0o755);
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'namespaces.img'), 0o600);
  const r = nsdump(['show', dir], { prefix: AS_NOBODY, ...staged });
  t.is(r.code, 5, r.stderr);
  t.is(r.stderr, `nsdump: ${join(dir, 'namespaces.img')}: permission denied\n`);
});

test('bash completion offers commands, options and choices from the table', (t) => {
  const script = nsdump(['completion', 'bash']).stdout;
  const complete = (line: string[]) => {
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _nsdump; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', cwd: tempDir(t) });
    t.is(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  };
  t.deepEqual(complete(['nsdump', 'pl']), ['plan']);
  t.deepEqual(complete(['nsdump', 'plan', 'x', '-f', '']), ['json', 'sh', 'text']);
  t.deepEqual(complete(['nsdump', 'dump', '1', '--re']), ['--retries']);
  t.deepEqual(complete(['nsdump', 'show', 'x', '-']), ['--format', '--help', '--json', '--task', '--tree', '--type', '-J', '-T', '-f', '-h', '-p', '-t']);
  t.deepEqual(complete(['nsdump', 'show', 'x', '-f', '']), ['dot', 'json', 'mermaid', 'svg', 'text']);
  t.deepEqual(complete(['nsdump', 'help', 'di']), ['diff']);
  t.deepEqual(complete(['nsdump', 'completion', '']), ['bash', 'zsh']);
  t.false(complete(['nsdump', 'restore', 'x', '--']).includes('--events-fd'));
  const zsh = nsdump(['completion', 'zsh']).stdout;
  t.regex(zsh, /^#compdef nsdump\n/);
  for (const c of COMMANDS) t.true(zsh.includes(`'${c.name}:`), c.name);
});

const ZSH = spawnSync('zsh', ['--version']).status === 0;
(ZSH ? test : test.skip)('zsh takes the zsh completion: it parses, and compinit then has _nsdump', (t) => {
  const file = join(tempDir(t), '_nsdump');
  writeFileSync(file, nsdump(['completion', 'zsh']).stdout);
  const syntax = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
  t.is(syntax.status, 0, syntax.stderr);
  const load = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -d ${file}.dump && source ${file} && (( $+functions[_nsdump] )) && echo defined`], { encoding: 'utf8', cwd: tempDir(t) });
  t.is(load.stdout.trim(), 'defined', load.stderr);
});

test('the man page is built from the same table, and man renders it cleanly', (t) => {
  const page = join(ROOT, 'dist/man/nsdump.1');
  t.true(existsSync(page));
  const r = spawnSync('man', ['--warnings', '-l', '-Tutf8', page], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80' } });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '', 'no groff warnings');
  const text = r.stdout.replace(/.\x08/g, '');
  for (const c of COMMANDS) for (const o of c.options.filter((x) => !x.hidden)) t.true(text.includes(`${o.negatable ? '--[no-]' : '--'}${o.name}`), `${c.name} --${o.name}`);
  for (const o of GLOBAL_OPTIONS) t.true(text.includes(`--${o.name}`));
  t.true(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).man.includes('./dist/man/nsdump.1'));
});

test('a reader that goes away (| head) ends nsdump quietly, as SIGPIPE ends a C tool: 141, nothing on stderr', (t) => {
  // An image whose JSON is well over a pipe's 64 KiB: a real one, with 2,000 more processes like its root.
  const img = readImage(join(ROOT, 'fixtures', 'images', 'v1-mixed-children'));
  const root = img.processes.find((p) => p.pid === img.inventory.rootPid)!;
  for (let i = 1; i <= 2000; i++) img.processes.push({ ...root, pid: 100000 + i, ppid: root.pid, nspid: [100000 + i] });
  const dir = join(tempDir(t), 'big');
  writeImage(dir, img);
  const r = spawnSync('bash', ['-c', '"$0" "$1" show "$2" --json 2>"$3" | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"', process.execPath, CLI, dir, join(dir, '..', 'err')], { encoding: 'utf8' });
  t.is(r.stdout.trim(), '141');
  t.is(readFileSync(join(dir, '..', 'err'), 'utf8'), '');
});

