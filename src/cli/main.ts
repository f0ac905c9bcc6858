// Why: the thin command line. It parses arguments (yargs, configured from the option table in
// options.ts), calls the library, renders, and maps errors to one line `nsdump: <what>: <why>` and
// a documented exit code. Command modules load lazily so that `dump` never pays for what only
// `show` needs.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, UsageError, exitCodeOf } from './exit-codes.js';
import { printable } from '../model/text.js';
import { NSDUMP_VERSION } from '../model/format.js';
import { COMMANDS, type CommandDef, type DIFF_FORMATS, type SHOW_FORMATS, type TREES, checkValue, commandNamed, suggestion, usageLine } from './options.js';
import { restoreStartUpEnv } from '../model/node-env.js';

function fail(err: unknown): never {
  const code = exitCodeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  // One line, and nothing in it a terminal would act on: messages quote image strings and paths.
  process.stderr.write(`nsdump: ${printable(msg.replace(/\s*\n\s*/g, ' '))}\n`);
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

type Args = Record<string, unknown> & { '--'?: unknown[] };

/** What each command does with its parsed arguments: arguments → library call → render. */
const HANDLERS: Record<string, (a: Args) => Promise<number | void>> = {
  async dump(a) {
    if (a.all === true && a.pid !== undefined) throw new UsageError('dump takes a pid or --all, not both');
    if (a.all !== true && a.pid === undefined) throw new UsageError(`dump: missing <pid> (or --all) (usage: ${usageLine(commandNamed('dump')!)})`);
    const pid = a.all === true ? null : parsePid(a.pid);
    const { dumpCommand } = await import('./dump-command.js');
    return dumpCommand({
      pid,
      output: (a.output as string | undefined) ?? (pid === null ? 'nsdump-all' : `nsdump-${pid}`),
      retries: (a.retries as number | undefined) ?? 2,
      quiet: a.quiet === true,
      freeze: a.freeze === true,
    });
  },
  async show(a) {
    const { showCommand } = await import('./show-command.js');
    const { parseTypes } = await import('../show/select.js');
    const types = parseTypes((a.type as string[] | undefined)?.map(String));
    return showCommand({
      dir: String(a.dir),
      format: a.json === true ? 'json' : ((a.format as (typeof SHOW_FORMATS)[number] | undefined) ?? 'text'),
      ...(types ? { types } : {}),
      ...(a.task === undefined ? {} : { pid: parsePid(a.task) }),
      ...(a.tree === undefined ? {} : { tree: a.tree as (typeof TREES)[number] }),
    });
  },
  async plan(a) {
    const { planCommand } = await import('./plan-command.js');
    return planCommand({ dir: String(a.dir), format: (a.format as 'text' | 'json' | 'sh' | undefined) ?? 'text', kernel: a.kernel as string | undefined, pidfd: a.pidfd as boolean | undefined, external: a.external as string[] | undefined });
  },
  async restore(a) {
    const { restoreCommand, unbindCommand } = await import('./restore-command.js');
    if (a.unbind !== undefined) return unbindCommand(String(a.unbind));
    if (a.dir === undefined) throw new UsageError(`restore: missing <dir> (usage: ${usageLine(commandNamed('restore')!)})`);
    const command = [...((a.command as unknown[] | undefined) ?? []), ...(a['--'] ?? [])].map(String);
    return restoreCommand({
      dir: String(a.dir),
      hold: a.hold === true,
      json: a.json === true,
      command,
      pidfd: a.pidfd as boolean | undefined,
      set: a.set as number | undefined,
      pid: a.pid as number | undefined,
      eventsFd: a['events-fd'] as number | undefined,
      noBind: a['no-bind'] === true || a.bind === false,
      bind: typeof a.bind === 'string' ? a.bind : undefined,
      netnsPrefix: a['netns-prefix'] as string | undefined,
      external: a.external as string[] | undefined,
    });
  },
  async diff(a) {
    const { diffCommand, parseTimeout } = await import('./diff-command.js');
    const timeoutMs = parseTimeout(a.timeout);
    return diffCommand({ a: String(a.a), b: String(a.b), json: a.json === true, format: (a.format as (typeof DIFF_FORMATS)[number] | undefined) ?? 'text', ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  },
  async caps(a) {
    if (a.ns === undefined) throw new UsageError(`caps: missing --ns Y (usage: ${usageLine(commandNamed('caps')!)})`);
    const { capsCommand } = await import('./caps-command.js');
    return capsCommand({
      ...(a.dir === undefined ? {} : { dir: String(a.dir) }),
      live: a.live === true,
      ...(a.pid === undefined ? {} : { pid: parsePid(a.pid) }),
      ns: String(a.ns),
      ...(a.cap === undefined ? {} : { cap: String(a.cap) }),
      json: a.json === true,
    });
  },
  async encode(a) {
    const { encodeCommand } = await import('./encode-command.js');
    return encodeCommand({ json: String(a.json), dir: String(a.dir) });
  },
  async demo() {
    const { checkPrivileges } = await import('../discover/privileges.js');
    checkPrivileges();
    const { demoCommand } = await import('./demo-command.js');
    return demoCommand();
  },
  async completion(a) {
    const { completionScript } = await import('./completion.js');
    process.stdout.write(completionScript(String(a.shell ?? 'bash')));
  },
  async help(a) {
    const { commandHelp, mainHelp } = await import('./help.js');
    process.stdout.write(a.command === undefined ? mainHelp() : commandHelp(knownCommand(String(a.command))));
  },
};

function knownCommand(name: string): CommandDef {
  const c = commandNamed(name);
  if (!c) throw new UsageError(`${name}: unknown command${suggestion(name, COMMANDS.map((x) => x.name))}`);
  return c;
}

/** Whether `c` has a flag no-NAME beside the valued option NAME (yargs turns --no-NAME into NAME = false). */
const negatedBy = (c: CommandDef, o: { name: string }) => c.options.some((x) => x.name === `no-${o.name}`);

/** One yargs command from its table entry; positionals are all optional to yargs, checked here. */
function define(y: Argv, c: CommandDef): Argv {
  const spec = [c.name, ...c.positionals.map((p) => (p.variadic ? `[${p.name}..]` : `[${p.name}]`))].join(' ');
  return y.command(
    spec,
    c.summary,
    (b) => {
      for (const p of c.positionals) b.positional(p.name, { type: 'string', array: p.variadic === true });
      for (const o of c.options) {
        b.option(o.name, {
          ...(o.short ? { alias: o.short } : {}),
          type: o.arg ? 'string' : 'boolean',
          ...(o.repeatable ? { array: true } : {}),
          // yargs reads --no-X as X = false: where the command has a no-X flag of its own (restore's
          // --no-bind beside --bind DIR), that false is the flag, not a value to check.
          ...(o.arg ? { coerce: (v: unknown) => (v === false && negatedBy(c, o) ? false : Array.isArray(v) ? v.map((x) => checkValue(o, x)) : checkValue(o, v)) } : {}),
          // A negatable flag's default is decided at run time: left undefined unless given.
          ...(!o.arg && !o.negatable ? { default: false } : {}),
          hidden: true,
        });
      }
      return b;
    },
    (argv) =>
      run(async () => {
        for (const p of c.positionals) {
          if (p.optional || p.variadic || argv[p.name] !== undefined) continue;
          throw new UsageError(`${c.name}: missing <${p.name}> (usage: ${usageLine(c)})`);
        }
        for (const p of c.positionals) {
          const v = argv[p.name];
          if (p.choices && v !== undefined && !p.choices.includes(String(v))) throw new UsageError(`${c.name}: ${String(v)}: expected one of ${p.choices.join(', ')}${suggestion(String(v), p.choices)}`);
        }
        return HANDLERS[c.name]!(argv as Args);
      }),
  );
}

/** yargs' own messages, said as one line naming the argument (and what was likely meant). */
function usageMessage(msg: string, c: CommandDef | undefined, raw: string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown && c) {
    return unknown[1]!
      .split(', ')
      .map((name) => {
        const given = raw.find((r) => r === `--${name}` || r.startsWith(`--${name}=`) || r === `-${name}` || (name.length === 1 && /^-[A-Za-z]+$/.test(r) && r.includes(name)));
        if (given === undefined) return `${c.name}: unexpected argument ${name} (usage: ${usageLine(c)})`;
        const long = c.options.filter((o) => !o.hidden).map((o) => o.name);
        return `${c.name}: unknown option ${given.replace(/=.*$/, '')}${suggestion(name, long, '--')}`;
      })[0]!;
  }
  return msg.replace(/\s*\n\s*/g, ' ');
}

const raw = hideBin(process.argv);
const beforeDashes = raw.includes('--') ? raw.slice(0, raw.indexOf('--')) : raw;
const first = raw.find((r) => !r.startsWith('-'));
const cmd = first === undefined ? undefined : commandNamed(first);

// `nsdump show … | head`: once the reader is gone, a write fails with EPIPE (Node ignores
// SIGPIPE). End as a C tool killed by SIGPIPE would, with nothing on stderr: 128 + 13. Not for
// restore, whose stdout is a channel of its own: a failed write there is its error to handle,
// and it must release what it made first.
if (cmd?.name !== 'restore') {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(EXIT.READER_GONE);
  });
}

/** The command line, run once; every error ends in fail(). (A function, not top-level await: the
 * bundle that bin.ts runs is a script, which has none.) */
async function main(): Promise<void> {
  try {
    // What yargs would get wrong or say at length is decided here first: help, version, a missing or
    // misspelt command.
    if (beforeDashes.includes('-V') || beforeDashes.includes('--version')) {
      process.stdout.write(`nsdump ${NSDUMP_VERSION}\n`);
    } else if (beforeDashes.includes('-h') || beforeDashes.includes('--help')) {
      const { commandHelp, mainHelp } = await import('./help.js');
      process.stdout.write(cmd && cmd.name !== 'help' ? commandHelp(cmd) : mainHelp());
    } else if (first === undefined) {
      const dashed = raw.find((r) => r.startsWith('-'));
      throw new UsageError(
        dashed !== undefined
          ? `unknown option ${dashed} before a command (usage: nsdump <command> [options]; nsdump --help lists them)`
          : `a command is required: ${COMMANDS.map((c) => c.name).join(', ')} (usage: nsdump <command> [options]; nsdump --help tells more)`,
      );
    } else {
      knownCommand(first);
      // yargs reads a lone "-" as an option without a name; to us it means standard input.
      const args = raw.map((r, i) => (r === '-' && i < beforeDashes.length ? '/dev/stdin' : r));
      let y = yargs(args)
        .parserConfiguration({ 'populate--': true })
        .scriptName('nsdump')
        .strict()
        .help(false)
        .version(false)
        .fail((msg, err) => {
          // A value the table's check refused reaches here as yargs' YError with our message.
          if (err && err.name !== 'YError') fail(err);
          fail(new UsageError(usageMessage(msg ?? err?.message ?? 'bad arguments', cmd, beforeDashes)));
        });
      for (const c of COMMANDS) y = define(y, c);
      await y.parseAsync();
    }
  } catch (err) {
    fail(err);
  }
}

// Started without NODE_EXTRA_CA_CERTS (model/node-env.ts) by the executable's first line, or by the
// library's restore() for its supervisor (this module, unbundled): put back, for what nsdump runs.
restoreStartUpEnv();
void main();
