// Why: which V8 code cache a command line starts from is decided in one place, for the loader that
// reads it (bin.ts) and the build that makes it (scripts/code-cache.mjs).

/** The cache files for this command line, best first: its first word that is not an option (as main.ts reads it), then the generic one. */
export function cacheNames(args: readonly string[]): string[] {
  const first = args.find((a) => !a.startsWith('-'));
  return first !== undefined && /^[a-z]{1,16}$/.test(first) ? [`cli.${first}.v8cache`, 'cli.v8cache'] : ['cli.v8cache'];
}
