// Why: strings in an image are whatever a process or a forger put there (a comm of
// "x\033[2J\nFAKE"), so text meant for a terminal shows them as data: this is the one function
// every text output (show, diff, plan, every error message) passes image text through.

/**
 * `s` with nothing a terminal would act on: C0 controls and DEL as `\n`, `\t`, `\r` or `\xHH`, C1
 * controls (U+0080–U+009F, which some terminals read as escape sequences), the bidirectional
 * overrides and isolates that reorder what a line seems to say, and lone surrogates (what is left
 * of bytes that were not UTF-8) as `\u{HHHH}`. A backslash stays itself: text that is escaped
 * already (JSON) stays readable, at the price that a literal "\x1b" reads like an escaped ESC.
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u{${code.toString(16)}}`;
  });
}

// C0, DEL, C1; ALM, LRM/RLM, LRE…RLO, LRI…PDI; lone high surrogates, lone low surrogates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Lines for a terminal, each printable (a line feed inside one is data, shown as `\n`), one per line. */
export function printableLines(lines: readonly string[]): string {
  return lines.map(printable).join('\n');
}
