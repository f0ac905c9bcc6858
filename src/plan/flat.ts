// Why: a plan holds a summary for each of up to 300,000 steps, and V8 keeps a string built by `+`
// or a template as a rope (a 32-byte node per join, each piece kept) until something reads its
// characters; 300,000 summaries as ropes took 221 MiB where their text takes 57, and the garbage
// collector spent a third of planning 100,000 namespaces copying them.

/**
 * `s`, made flat now: reading a character makes V8 copy a rope into one flat string in place (the
 * nodes become garbage while they are still young, cheap to collect). The same text either way.
 */
export function flat(s: string): string {
  if (s.charCodeAt(0) < 0) throw new Error('unreachable: a char code is never negative');
  return s;
}
