// Why: every command, argument and option of the command line, once. The parser (main.ts), the
// help text, shell completion and the man page are all made from this table, so adding an option
// is one entry here (and reading it in the command's handler).
import { UsageError } from './exit-codes.js';

/** What a value is checked as, and what completion offers for it. */
export type ValueKind = 'text' | 'dir' | 'file' | 'uint' | 'pid' | 'choice' | 'command' | 'shell';

export interface OptionDef {
  /** Long name, without "--". */
  name: string;
  /** One-letter alias, without "-". */
  short?: string;
  /** The value's placeholder (DIR, N); absent: a flag. */
  arg?: string;
  kind?: ValueKind;
  choices?: readonly string[];
  describe: string;
  /** Default of a valued option, as the help shows it. */
  defaultText?: string;
  /** May be given more than once. */
  repeatable?: boolean;
  /** A flag that also has a --no- form (its default is decided at run time). */
  negatable?: boolean;
  /** Not shown in help, completion or the man page (an internal channel). */
  hidden?: boolean;
}

export interface PositionalDef {
  name: string;
  describe: string;
  kind: ValueKind;
  optional?: boolean;
  /** Takes the rest of the words (after --). */
  variadic?: boolean;
  choices?: readonly string[];
}

export interface CommandDef {
  name: string;
  summary: string;
  positionals: PositionalDef[];
  options: OptionDef[];
  /** The usage line after "nsdump NAME", when the positionals alone do not say it. */
  usage?: string;
}

const json: OptionDef = { name: 'json', short: 'J', describe: 'print JSON' };
const external: OptionDef = {
  name: 'external',
  arg: 'veth:NAME[@NETNS]=HOSTNAME',
  kind: 'text',
  repeatable: true,
  describe: 'make the external veth NAME (of net namespace image id NETNS, where the name alone is ambiguous) with its other end HOSTNAME in this network namespace (repeatable)',
};
const pidfd: OptionDef = { name: 'pidfd', negatable: true, describe: 'attach with setns(pidfd) where the kernel has it; --no-pidfd: one namespace at a time' };
const image = (name = 'dir'): PositionalDef => ({ name, kind: 'dir', describe: 'image directory written by nsdump dump' });

export const SHELLS = ['bash', 'zsh'] as const;
export const PLAN_FORMATS = ['text', 'json', 'sh'] as const;
export const SHOW_FORMATS = ['text', 'json', 'dot', 'mermaid', 'svg'] as const;
export const DIFF_FORMATS = ['text', 'json', 'dot', 'svg'] as const;
export const TREES = ['owner', 'parent', 'process'] as const;

export const COMMANDS: CommandDef[] = [
  {
    name: 'dump',
    summary: 'record every namespace of the tree rooted at <pid> (or of every process: --all) as an image',
    usage: '(<pid> | --all) [options]',
    positionals: [{ name: 'pid', kind: 'pid', optional: true, describe: 'root of the process tree' }],
    options: [
      { name: 'all', describe: 'every process the dumper can see (its pid namespace), like lsns; no root process' },
      { name: 'output', short: 'o', arg: 'DIR', kind: 'dir', describe: 'image directory to create; it must not exist', defaultText: 'nsdump-<pid>, nsdump-all' },
      { name: 'retries', arg: 'N', kind: 'uint', describe: 'if the tree changes in a way the image cannot leave out (the root or a parent exits), dump again up to N times, then fail (exit 7)', defaultText: '2' },
      { name: 'freeze', describe: 'stop the tree (SIGSTOP) for the dump and resume it afterwards, as CRIU does; not with --all' },
      { name: 'quiet', short: 'q', describe: 'print nothing on success' },
    ],
  },
  {
    name: 'show',
    summary: 'print an image: a namespace tree for people, JSON for scripts, or a picture (dot, mermaid, svg)',
    positionals: [image()],
    options: [
      { ...json, describe: 'the whole image as JSON (what nsdump encode takes back; same as --format json)' },
      { name: 'format', short: 'f', arg: 'FORMAT', kind: 'choice', choices: SHOW_FORMATS, describe: 'a tree for people, the image as JSON, or a picture: Graphviz DOT, Mermaid, or SVG (laid out in-process)', defaultText: 'text' },
      { name: 'type', short: 't', arg: 'TYPE', kind: 'text', repeatable: true, describe: 'only namespaces of this type (repeatable; their owners stay as context)' },
      { name: 'task', short: 'p', arg: 'PID', kind: 'text', describe: 'only the namespaces of this process of the image, their owners and parents' },
      { name: 'tree', short: 'T', arg: 'BY', kind: 'choice', choices: TREES, describe: 'nest by owning user namespace (owner, the default), by parent (user and pid; in a picture, as two trees of arrows), or by process (text only)' },
    ],
  },
  {
    name: 'plan',
    summary: 'check an image and print the ordered unshare/setns plan that recreates it',
    positionals: [image()],
    options: [
      { name: 'format', short: 'f', arg: 'FORMAT', kind: 'choice', choices: PLAN_FORMATS, describe: 'numbered steps for people (text), the JSON contract (json), or a POSIX sh script (sh)', defaultText: 'text' },
      { name: 'kernel', arg: 'X.Y', kind: 'text', describe: 'plan for this target kernel instead of the running one; what it cannot make is refused (exit 8)' },
      pidfd,
      external,
    ],
  },
  {
    name: 'restore',
    summary: 'carry out the plan: --hold the namespaces, or run a command inside them',
    usage: '<dir> (--hold | -- CMD [ARG...]) [options] | --unbind DIR',
    positionals: [
      { ...image(), optional: true },
      { name: 'command', kind: 'text', optional: true, variadic: true, describe: "after --: run this in the dumped root's namespaces (or --set/--pid), then release; in a user namespace the restore made, as the effective uid and gid the dumped process had there (where recorded, mapped and settable; else yours)" },
    ],
    options: [
      { name: 'hold', describe: 'print one JSON line (pids and /proc paths of every set) once ready; hold until SIGTERM, SIGINT or SIGHUP' },
      { name: 'set', arg: 'N', kind: 'uint', describe: 'with a command: join set N of the plan' },
      { name: 'pid', arg: 'PID', kind: 'uint', describe: 'with a command: join the set of this pid of the dumped tree' },
      { ...json, describe: 'log every process made as a JSON line on stderr' },
      { name: 'bind', arg: 'DIR', kind: 'dir', describe: 'also bind every namespace of every set as DIR/<set>/<type> (removed at release)' },
      { name: 'netns-prefix', arg: 'NAME', kind: 'text', describe: 'also bind each restored network namespace as /run/netns/NAME-<set>' },
      { name: 'no-bind', describe: 'do not recreate the bind mounts that held namespaces in the dump' },
      { name: 'unbind', arg: 'DIR', kind: 'dir', describe: 'remove the bind mounts a killed restore --bind DIR left, then exit' },
      external,
      pidfd,
      { name: 'events-fd', arg: 'FD', kind: 'uint', hidden: true, describe: "write the JSON events to this fd (the library's supervisor channel)" },
    ],
  },
  {
    name: 'diff',
    summary: 'compare two images modulo kernel ids and pids (exit 0: equivalent, 1: not, 10: undecided)',
    positionals: [
      { name: 'a', kind: 'dir', describe: 'first image directory' },
      { name: 'b', kind: 'dir', describe: 'second image directory' },
    ],
    options: [
      { ...json, describe: '{equivalent, undecided, differences} as JSON (same as --format json)' },
      { name: 'format', short: 'f', arg: 'FORMAT', kind: 'choice', choices: DIFF_FORMATS, describe: 'one line per difference, JSON, or the second image drawn with what changed coloured (DOT or SVG)', defaultText: 'text' },
      { name: 'timeout', arg: 'SECONDS', kind: 'text', describe: 'how long the search for an isomorphism may take before the answer is undecided', defaultText: '5' },
    ],
  },
  {
    name: 'caps',
    summary: 'the capabilities a process has over a namespace, and the rule that decides it (from an image, or --live: the running system)',
    usage: '(<dir> | --live) --ns Y [--pid X] [--cap CAP] [options]',
    positionals: [{ ...image(), optional: true, describe: 'image directory (one that records process credentials)' }],
    options: [
      { name: 'live', describe: 'read the processes and namespaces of the running system now' },
      { name: 'pid', arg: 'PID', kind: 'text', describe: 'the process X; without it, every process that holds --cap (or any capability) over the namespace' },
      { name: 'ns', arg: 'Y', kind: 'text', describe: 'the namespace Y: TYPE:PID (the namespace of that type of process PID); in an image also its id (uts#7, 7); with --live also /proc/PID/ns/TYPE (any nsfs path)' },
      { name: 'cap', arg: 'CAP', kind: 'text', describe: 'one capability (CAP_SYS_ADMIN, sys_admin): held or not, and why' },
      { ...json, describe: '{pid, ns, owner, capabilities, rules, member, cap, notes} as JSON' },
    ],
  },
  {
    name: 'encode',
    summary: 'write the JSON of nsdump show --json back into an image directory',
    positionals: [
      { name: 'json', kind: 'file', describe: 'the JSON file (- for standard input)' },
      { name: 'dir', kind: 'dir', describe: 'image directory to create; it must not exist' },
    ],
    options: [],
  },
  {
    name: 'demo',
    summary: 'build a small nested topology, dump, show, plan, restore, diff it, and clean up',
    positionals: [],
    options: [],
  },
  {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    positionals: [{ name: 'shell', kind: 'shell', choices: SHELLS, optional: true, describe: 'bash (default) or zsh' }],
    options: [],
  },
  {
    name: 'help',
    summary: 'show the help of a command',
    positionals: [{ name: 'command', kind: 'command', optional: true, describe: 'the command' }],
    options: [],
  },
];

/** Options every command takes; handled before any command is parsed. */
export const GLOBAL_OPTIONS: OptionDef[] = [
  { name: 'help', short: 'h', describe: 'show this help and exit' },
  { name: 'version', short: 'V', describe: 'print the version and exit' },
];

export function commandNamed(name: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** "<pid>", "[dir]", "[command...]" */
export function positionalText(p: PositionalDef): string {
  const inner = `${p.name}${p.variadic ? '...' : ''}`;
  return p.optional ? `[${inner}]` : `<${inner}>`;
}

/** "nsdump dump <pid> [options]" */
export function usageLine(c: CommandDef): string {
  const rest = c.usage ?? [...c.positionals.map(positionalText), ...(c.options.some((o) => !o.hidden) ? ['[options]'] : [])].join(' ');
  return `nsdump ${c.name}${rest ? ` ${rest}` : ''}`;
}

/** "-o, --output DIR", "    --[no-]pidfd" */
export function optionText(o: OptionDef): string {
  const long = o.negatable ? `--[no-]${o.name}` : `--${o.name}`;
  return `${o.short ? `-${o.short}, ` : '    '}${long}${o.arg ? ` ${o.arg}` : ''}`;
}

/** How an option is named in a message: "-o, --output" or "--retries". */
export const optionName = (o: OptionDef) => (o.short ? `-${o.short}, --${o.name}` : `--${o.name}`);

/**
 * Check one value of a valued option and return what the handler gets: a string, or a number for
 * uint. Throws a UsageError naming the option.
 */
export function checkValue(o: OptionDef, raw: unknown): string | number {
  const s = raw === undefined || raw === null ? '' : String(raw);
  if (s === '') throw new UsageError(`${optionName(o)}: needs a value (${o.arg})`);
  switch (o.kind) {
    case 'uint':
      if (!/^\d{1,15}$/.test(s)) throw new UsageError(`${optionName(o)} ${s}: not a non-negative integer`);
      return Number(s);
    case 'choice':
      if (!o.choices!.includes(s)) throw new UsageError(`${optionName(o)} ${s}: expected one of ${o.choices!.join(', ')}${suggestion(s, o.choices!)}`);
      return s;
    default:
      return s;
  }
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate, when it is close enough to be what was meant: " (did you mean dump?)". */
export function suggestion(word: string, candidates: readonly string[], prefix = ''): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? ` (did you mean ${prefix}${best}?)` : '';
}
