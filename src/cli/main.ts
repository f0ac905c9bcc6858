#!/usr/bin/env node
// Why: the thin command line. It parses arguments, calls the library, renders, and maps errors to
// one line `nsdump: <what>: <why>` and a documented exit code. Command modules load lazily so
// that `dump` never pays for what only `show` needs.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, UsageError, exitCodeOf } from './exit-codes.js';
import { NSDUMP_VERSION } from '../model/format.js';

function fail(err: unknown): never {
  const code = exitCodeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`nsdump: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
  if (code === EXIT.INTERNAL && process.env.NSDUMP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(code);
}

async function run(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    process.exitCode = code ?? EXIT.OK;
  } catch (err) {
    fail(err);
  }
}

/** A positive integer argument, or a usage error naming it. */
export function parsePid(value: unknown): number {
  const s = String(value);
  if (!/^[1-9]\d{0,9}$/.test(s) || Number(s) > 0x3fffffff) throw new UsageError(`${s}: not a process id`);
  return Number(s);
}

await yargs(hideBin(process.argv))
  .parserConfiguration({ 'populate--': true })
  .scriptName('nsdump')
  .usage('Usage: $0 <command> [options]')
  .epilogue(
    [
      'Records the Linux namespaces of a process tree, nested ones too, as protobuf images,',
      'and shows what is inside them. Exit codes: 0 ok, 2 usage, 3 bad image, 4 no such',
      'process, 5 permission denied, 6 output exists or unwritable, 7 tree changed,',
      '8 image cannot be planned, 9 restore failed (all released), 1 diff: not equivalent,',
      '10 diff: undecided (the search hit its time bound), 70 bug.',
    ].join('\n'),
  )
  .command(
    'dump [pid]',
    'record every namespace of the tree rooted at <pid> (or of every process: --all) as an image',
    (y) =>
      y
        .positional('pid', { type: 'string', describe: 'root of the process tree' })
        .option('all', { type: 'boolean', default: false, describe: 'every process the dumper can see (its pid namespace), like lsns' })
        .option('output', { alias: 'o', type: 'string', describe: 'image directory to create (must not exist)', defaultDescription: 'nsdump-<pid>, nsdump-all' })
        .option('retries', { type: 'number', default: 2, describe: 'dump again this many times if the tree changes in a way the image cannot leave out' })
        .option('freeze', { type: 'boolean', default: false, describe: 'stop the tree (SIGSTOP) for the dump and resume it afterwards' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing on success' }),
    (argv) =>
      run(async () => {
        if (argv.all && argv.pid !== undefined) throw new UsageError('dump takes a pid or --all, not both');
        if (!argv.all && argv.pid === undefined) throw new UsageError('dump needs a pid (or --all)');
        const pid = argv.all ? null : parsePid(argv.pid);
        const { dumpCommand } = await import('./dump-command.js');
        return dumpCommand({ pid, output: argv.output ?? (pid === null ? 'nsdump-all' : `nsdump-${pid}`), retries: argv.retries, quiet: argv.quiet, freeze: argv.freeze });
      }),
  )
  .command(
    'show <dir>',
    'print an image: a namespace tree for people, --json for scripts, or a picture (dot, mermaid, svg)',
    (y) =>
      y
        .positional('dir', { type: 'string', describe: 'image directory written by nsdump dump' })
        .option('json', { alias: 'J', type: 'boolean', default: false, describe: 'the whole image as JSON (same as --format json)' })
        .option('format', { alias: 'f', choices: ['text', 'json', 'dot', 'mermaid', 'svg'] as const, default: 'text' as const, describe: 'a tree for people, the image as JSON, or a picture: Graphviz DOT, Mermaid, or SVG (laid out in-process)' })
        .option('type', { alias: 't', type: 'string', array: true, describe: 'only namespaces of this type (repeatable; their owners stay as context)' })
        .option('task', { alias: 'p', type: 'string', describe: 'only the namespaces of this process of the image, their owners and parents' })
        .option('tree', { alias: 'T', choices: ['owner', 'parent', 'process'] as const, describe: 'text: nest by owning user namespace (default), by parent (user and pid), or by process' }),
    (argv) =>
      run(async () => {
        const { showCommand } = await import('./show-command.js');
        const { parseTypes } = await import('../show/select.js');
        const types = parseTypes(argv.type?.map(String));
        return showCommand({
          dir: String(argv.dir),
          format: argv.json ? 'json' : argv.format,
          ...(types ? { types } : {}),
          ...(argv.task === undefined ? {} : { pid: parsePid(argv.task) }),
          ...(argv.tree ? { tree: argv.tree } : {}),
        });
      }),
  )
  .command(
    'plan <dir>',
    'check an image and print the ordered unshare/setns plan that recreates it',
    (y) =>
      y
        .positional('dir', { type: 'string', describe: 'image directory written by nsdump dump' })
        .option('format', { alias: 'f', choices: ['text', 'json', 'sh'] as const, default: 'text' as const, describe: 'steps for people, the JSON contract, or a POSIX sh script' })
        .option('kernel', { type: 'string', describe: 'plan for this target kernel (X.Y) instead of the running one' })
        .option('pidfd', { type: 'boolean', describe: 'attach with setns(pidfd) (--no-pidfd: one namespace at a time)', defaultDescription: 'if the kernel has it' })
        .option('external', { type: 'string', array: true, describe: 'veth:NAME[@NETNS]=HOSTNAME: make the external veth NAME with its other end HOSTNAME in this network namespace (repeatable)' }),
    (argv) =>
      run(async () => {
        const { planCommand } = await import('./plan-command.js');
        return planCommand({ dir: String(argv.dir), format: argv.format, kernel: argv.kernel, pidfd: argv.pidfd, external: argv.external?.map(String) });
      }),
  )
  .command(
    'restore [dir] [command..]',
    'carry out the plan: --hold the namespaces, or run a command inside them',
    (y) =>
      y
        .positional('dir', { type: 'string', describe: 'image directory written by nsdump dump' })
        .positional('command', { type: 'string', array: true, describe: 'after --: run this in the dumped root\'s namespaces (or --set/--pid), then release' })
        .option('hold', { type: 'boolean', default: false, describe: 'print one JSON line (pids and /proc paths of every set) once ready; hold until SIGTERM or SIGINT' })
        .option('set', { type: 'number', describe: 'with a command: join this set of the plan' })
        .option('pid', { type: 'number', describe: 'with a command: join the set of this pid of the dumped tree' })
        .option('json', { type: 'boolean', default: false, describe: 'log every process made as a JSON line on stderr' })
        .option('bind', { type: 'string', describe: 'bind every namespace of every set as DIR/<set>/<type> (removed at release)' })
        .option('netns-prefix', { type: 'string', describe: 'also bind each restored network namespace as /run/netns/NAME-<set>' })
        .option('no-bind', { type: 'boolean', default: false, describe: 'do not recreate the bind mounts that held namespaces in the dump' })
        .option('unbind', { type: 'string', describe: 'remove the bind mounts a killed restore --bind DIR left, then exit' })
        .option('external', { type: 'string', array: true, describe: 'veth:NAME[@NETNS]=HOSTNAME: make the external veth NAME with its other end HOSTNAME in this network namespace (repeatable)' })
        .option('events-fd', { type: 'number', hidden: true, describe: 'write the JSON events to this fd (the library\'s supervisor channel)' })
        .option('pidfd', { type: 'boolean', describe: 'attach with setns(pidfd) (--no-pidfd: one namespace at a time)', defaultDescription: 'if the kernel has it' }),
    (argv) =>
      run(async () => {
        const { restoreCommand, unbindCommand } = await import('./restore-command.js');
        if (argv.unbind !== undefined) return unbindCommand(String(argv.unbind));
        if (argv.dir === undefined) throw new UsageError('restore needs an image directory (or --unbind DIR)');
        const command = [...((argv.command as string[] | undefined) ?? []), ...((argv['--'] as string[] | undefined) ?? [])].map(String);
        const int = (v: unknown, name: string) => {
          if (v === undefined) return undefined;
          if (!Number.isSafeInteger(v) || (v as number) < 0) throw new UsageError(`--${name} ${String(v)}: expected a whole number`);
          return v as number;
        };
        return restoreCommand({
          dir: String(argv.dir),
          hold: argv.hold,
          json: argv.json,
          command,
          pidfd: argv.pidfd,
          set: int(argv.set, 'set'),
          pid: int(argv.pid, 'pid'),
          eventsFd: int(argv['events-fd'], 'events-fd'),
          noBind: argv['no-bind'],
          bind: argv.bind,
          netnsPrefix: argv['netns-prefix'],
          external: argv.external?.map(String),
        });
      }),
  )
  .command(
    'diff <a> <b>',
    'compare two images modulo kernel ids and pids (exit 0: equivalent, 1: not, 10: undecided)',
    (y) =>
      y
        .positional('a', { type: 'string', describe: 'first image directory' })
        .positional('b', { type: 'string', describe: 'second image directory' })
        .option('json', { alias: 'J', type: 'boolean', default: false, describe: '{equivalent, undecided, differences} as JSON (same as --format json)' })
        .option('format', { alias: 'f', choices: ['text', 'json', 'dot', 'svg'] as const, default: 'text' as const, describe: 'one line per difference, JSON, or the second image drawn with what changed coloured (DOT or SVG)' })
        .option('timeout', { type: 'string', describe: 'seconds the search for an isomorphism may take before the answer is undecided', defaultDescription: '5' }),
    (argv) =>
      run(async () => {
        const { diffCommand, parseTimeout } = await import('./diff-command.js');
        const timeoutMs = parseTimeout(argv.timeout);
        return diffCommand({ a: String(argv.a), b: String(argv.b), json: argv.json, format: argv.format, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      }),
  )
  .command(
    'caps [dir]',
    'the capabilities a process has over a namespace, and the rule that decides it (--live: the running system)',
    (y) =>
      y
        .positional('dir', { type: 'string', describe: 'image directory (needs recorded credentials; format 1 has none: use --live)' })
        .option('live', { type: 'boolean', default: false, describe: 'read the processes and namespaces of the running system now' })
        .option('pid', { type: 'string', describe: 'the process X; without it, every process that holds --cap (or any capability) over the namespace' })
        .option('ns', { type: 'string', demandOption: true, describe: 'the namespace Y: /proc/PID/ns/TYPE (any nsfs path) or TYPE:PID' })
        .option('cap', { type: 'string', describe: 'one capability (CAP_SYS_ADMIN, sys_admin): held or not, and why' })
        .option('json', { alias: 'J', type: 'boolean', default: false, describe: '{pid, ns, owner, capabilities, rules, member, cap, notes} as JSON' }),
    (argv) =>
      run(async () => {
        const { capsCommand } = await import('./caps-command.js');
        return capsCommand({
          ...(argv.dir === undefined ? {} : { dir: String(argv.dir) }),
          live: argv.live,
          ...(argv.pid === undefined ? {} : { pid: parsePid(argv.pid) }),
          ns: String(argv.ns),
          ...(argv.cap === undefined ? {} : { cap: String(argv.cap) }),
          json: argv.json,
        });
      }),
  )
  .command(
    'demo',
    'build a small nested topology, dump, show, plan, restore, diff it, and clean up',
    (y) => y,
    () =>
      run(async () => {
        const { checkPrivileges } = await import('../discover/privileges.js');
        checkPrivileges();
        const { demoCommand } = await import('./demo-command.js');
        return demoCommand();
      }),
  )
  .demandCommand(1, 'nsdump: a command is required (dump, show, plan, restore, diff, caps, demo)')
  .strict()
  .version(NSDUMP_VERSION)
  .help()
  .alias('h', 'help')
  .wrap(process.stdout.isTTY ? Math.min(100, process.stdout.columns) : 100)
  .fail((msg, err) => {
    if (err) fail(err);
    process.stderr.write(`nsdump: ${msg}\nTry 'nsdump --help' for more information.\n`);
    process.exit(EXIT.USAGE);
  })
  .parseAsync();
