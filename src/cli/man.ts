// Why: the man page nsdump.1, made at build time (scripts/gen-man.mjs) from the same option
// table as the parser, the help and completion, so the four never disagree.
import { EXIT_MEANINGS } from './exit-codes.js';
import { COMMANDS, GLOBAL_OPTIONS, type OptionDef, optionText, positionalText, usageLine } from './options.js';

/** roff-safe text: backslashes doubled, hyphens as minus signs, no line starting with a control character. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

function option(o: OptionDef): string {
  const text = optionText(o).trim();
  return `.TP\n.B ${esc(text)}\n${esc(o.defaultText ? `${o.describe} (default: ${o.defaultText})` : o.describe)}`;
}

export function manPage(version: string, date: string): string {
  const out = [
    `.TH NSDUMP 1 "${date}" "nsdump ${version}" "User Commands"`,
    '.SH NAME',
    'nsdump \\- dump, plan and restore the Linux namespaces of a process tree',
    '.SH SYNOPSIS',
    ...COMMANDS.map((c) => `.B ${esc(usageLine(c))}\n.br`),
    '.SH DESCRIPTION',
    esc('nsdump records every namespace a process tree lives in (all eight types, how they nest, who owns them, what keeps them alive, and the state needed to make them again) as protobuf images in a directory, shows them, checks them and prints the ordered unshare/setns plan that recreates them, carries that plan out, and compares two images.'),
    '.SH OPTIONS',
    ...GLOBAL_OPTIONS.map(option),
    '.SH COMMANDS',
  ];
  for (const c of COMMANDS) {
    out.push(`.SS ${esc(usageLine(c))}`, esc(`${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`));
    for (const p of c.positionals) out.push(`.TP\n.I ${esc(positionalText(p))}\n${esc(p.describe)}`);
    for (const o of c.options.filter((x) => !x.hidden)) out.push(option(o));
  }
  out.push('.SH EXIT STATUS', ...EXIT_MEANINGS.map(([code, what]) => `.TP\n.B ${code}\n${esc(what)}`));
  out.push(
    '.SH ENVIRONMENT',
    '.TP\n.B NSDUMP_TIMING=1\nprint on standard error how long each stage of dump and restore took, and whether the start used the code cache built with nsdump',
    '.TP\n.B NSDUMP_DEBUG=1\nadd the stack trace to an internal error',
    '.TP\n.B COLUMNS\nthe width help text is wrapped at',
    `.TP\n.B NODE_EXTRA_CA_CERTS\n${esc("not given to nsdump's own Node processes (the executable starts Node through a POSIX sh line that moves it aside, into NSDUMP_NODE_EXTRA_CA_CERTS): Node would parse that certificate file at every start, and nsdump makes no TLS connection. What nsdump runs (restore -- COMMAND, the processes of restore --hold) gets it back as it was given")}`,
    '.SH SEE ALSO',
    '.BR unshare (1),',
    '.BR nsenter (1),',
    '.BR lsns (8),',
    '.BR namespaces (7),',
    '.BR setns (2)',
  );
  return `${out.join('\n')}\n`;
}
