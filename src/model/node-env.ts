// Why: Node parses the whole certificate bundle NODE_EXTRA_CA_CERTS names at start-up, before any
// JavaScript runs (~46 ms on these VMs, more than half of `node -e 0`), and nsdump makes no TLS
// connection. So nsdump's own Node processes start without it — the `nsdump` executable's first
// line (scripts/bundle.mjs) and every Node helper nsdump spawns — and carry it aside under
// SAVED_AS, so that what they run for a user (`restore -- CMD`) gets it back unchanged.

/** Read by Node itself at start-up; nothing nsdump does uses it. */
export const START_UP_ONLY = 'NODE_EXTRA_CA_CERTS';
/** Where it waits while an nsdump process runs. */
export const SAVED_AS = 'NSDUMP_NODE_EXTRA_CA_CERTS';

/** The environment for a Node process of nsdump's own: the variable moved aside, if set. */
export function nodeHelperEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  if (out[START_UP_ONLY] !== undefined) {
    out[SAVED_AS] = out[START_UP_ONLY];
    delete out[START_UP_ONLY];
  }
  return out;
}

/** In an nsdump process once Node has started: the variable put back, for whatever it runs. */
export function restoreStartUpEnv(env: NodeJS.ProcessEnv = process.env): void {
  const saved = env[SAVED_AS];
  if (saved === undefined) return;
  delete env[SAVED_AS];
  env[START_UP_ONLY] ??= saved;
}

/**
 * The `nsdump` executable's first two lines: a shell moves the variable aside and execs Node on the
 * same file, to which the second line is a string and a comment. POSIX sh only; `node` from PATH,
 * as `#!/usr/bin/env node` finds it.
 */
export const TRAMPOLINE = [
  '#!/bin/sh',
  `':' //; [ -z "\${${START_UP_ONLY}+x}" ] || { export ${SAVED_AS}="$${START_UP_ONLY}"; unset ${START_UP_ONLY}; }; exec node "$0" "$@"`,
].join('\n');
