// Why: the help text, made from the option table and wrapped by words at the terminal's width, so
// that no width (COLUMNS, a pipe, a 40-column terminal) breaks a word in two. yargs' own help
// wraps by character where a column gets narrow ("scrip/ts"); this one never does.
import { EXIT_MEANINGS } from './exit-codes.js';
import { COMMANDS, GLOBAL_OPTIONS, type CommandDef, optionText, positionalText, usageLine } from './options.js';

const DESCRIPTION = 'Dump, plan and restore the Linux namespaces of a process tree, nested ones included.';

/** Columns to wrap at: COLUMNS, else the terminal's, else 80; at most 100 (lines stay readable). */
export function helpWidth(): number {
  const env = Number(process.env.COLUMNS);
  const cols = Number.isInteger(env) && env > 0 ? env : process.stdout.isTTY ? process.stdout.columns : 80;
  return Math.max(20, Math.min(100, cols));
}

/** Split text into lines of at most `width` characters at spaces; a longer word stays whole. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Rows of "term  description", the descriptions aligned in one column. A term wider than the
 * column puts its description on the next line; a narrow terminal puts every description there.
 */
export function table(rows: [string, string][], width: number): string[] {
  const indent = 1;
  const longest = Math.max(0, ...rows.map(([t]) => t.length));
  let col = indent + Math.min(longest, 30) + 2;
  if (width - col < 24) col = indent + 4; // too narrow for two columns: descriptions below, indented
  const out: string[] = [];
  for (const [term, desc] of rows) {
    const body = wrapWords(desc, Math.max(10, width - col));
    const head = ' '.repeat(indent) + term;
    if (head.length + 2 <= col && body.length) {
      out.push(head.padEnd(col) + body[0]);
      for (const l of body.slice(1)) out.push(' '.repeat(col) + l);
    } else {
      // A term wider than the whole line is wrapped too, its later lines indented further.
      wrapWords(term, width - indent).forEach((l, i) => out.push(' '.repeat(indent + (i ? 2 : 0)) + l));
      for (const l of body) out.push(' '.repeat(col) + l);
    }
  }
  return out;
}

/** "Usage: nsdump …", wrapped by words, later lines indented under the command. */
function usage(line: string, width: number): string[] {
  return wrapWords(`Usage: ${line}`, width - 7).map((l, i) => (i ? `       ${l}` : l));
}

function para(text: string, width: number): string[] {
  return wrapWords(text, width);
}

export function mainHelp(width = helpWidth()): string {
  const lines = [
    ...usage('nsdump <command> [options]', width),
    '',
    ...para(DESCRIPTION, width),
    '',
    'Commands:',
    ...table(COMMANDS.map((c) => [[c.name, ...c.positionals.map(positionalText)].join(' '), c.summary]), width),
    '',
    'Options:',
    ...table(GLOBAL_OPTIONS.map((o) => [optionText(o), o.describe]), width),
    '',
    ...para("'nsdump help <command>' or 'nsdump <command> --help' tells more about a command.", width),
    '',
    'Exit codes:',
    ...table(EXIT_MEANINGS.map(([code, what]) => [String(code), what]), width),
  ];
  return `${lines.join('\n')}\n`;
}

export function commandHelp(c: CommandDef, width = helpWidth()): string {
  const options = c.options.filter((o) => !o.hidden);
  const lines = [...usage(usageLine(c), width), '', ...para(`${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, width)];
  if (c.positionals.length) lines.push('', 'Arguments:', ...table(c.positionals.map((p) => [positionalText(p), p.describe]), width));
  lines.push(
    '',
    'Options:',
    ...table(
      [...options, ...GLOBAL_OPTIONS.filter((o) => o.name === 'help')].map((o) => [optionText(o), o.defaultText ? `${o.describe} (default: ${o.defaultText})` : o.describe]),
      width,
    ),
  );
  return `${lines.join('\n')}\n`;
}
