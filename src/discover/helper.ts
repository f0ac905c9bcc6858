// Why: user and time namespaces cannot be entered by a multi-threaded process, so state that can
// only be read from inside them (a user namespace no process is in, a time namespace nobody has as
// time_for_children, any namespace of a rootless container an unprivileged dumper owns) is read by
// a process that util-linux nsenter, which is single-threaded, put there.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { SyscallError } from '../kernel/errors.js';
import { close, openAt } from '../kernel/ffi.js';
import type { Addr, Link, Route, Rule } from '../kernel/netlink.js';
import type { ThreadOp, ThreadOpResult } from '../kernel/thread-ops.js';
import { nodeHelperEnv } from '../model/node-env.js';
import { ANSWER_FD, namesFromHex } from './reader-protocol.js';

export class HelperError extends Error {
  override readonly name = 'HelperError';
}

/**
 * Enter the namespace at `nsPath` (a path nsenter can open: /proc/PID/fd/N works for our own fds)
 * and print the given /proc/self files, separated by a line "--nsdump--".
 */
export function readInside(type: 'user' | 'time', nsPath: string, files: string[]): string[] {
  const script = files.map((f) => `cat ${f} && echo --nsdump--`).join(' && ');
  const args = [`--${type}=${nsPath}`];
  // Without it nsenter -U switches to uid/gid 0, which fails where 0 is not mapped.
  if (type === 'user') args.push('--preserve-credentials');
  args.push('--', '/bin/sh', '-c', script);
  const r = spawnSync('nsenter', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  if (r.error) throw new HelperError(`nsenter: ${r.error.message}`);
  if (r.status !== 0) throw new HelperError(`nsenter --${type}: ${r.stderr.trim() || `exit ${r.status}`}`);
  const parts = r.stdout.split('--nsdump--\n');
  parts.pop();
  return parts;
}

// ---- one ThreadOp inside, by nsdump's own reader (ns-reader.ts) ----

/** Where the reader program is: beside this module, bundled (dist/bin) or not (dist/src/discover). */
const READER = fileURLToPath(new URL('./ns-reader.js', import.meta.url));

const LinkSchema = z.object({
  index: z.number(), name: z.string(), kind: z.string(), flags: z.array(z.string()), mtu: z.number(), mac: z.string(),
  link: z.number(), linkNsid: z.number().nullable(), master: z.number(), vlanId: z.number(), macvlanMode: z.string(),
}) satisfies z.ZodType<Link>;
const AddrSchema = z.object({
  index: z.number(), family: z.enum(['inet', 'inet6']), address: z.string(), prefixLen: z.number(), peer: z.string(),
  broadcast: z.string(), label: z.string(), scope: z.number(), flags: z.array(z.string()),
}) satisfies z.ZodType<Addr>;
const RouteSchema = z.object({
  family: z.enum(['inet', 'inet6']), table: z.number(), dst: z.string(), dstLen: z.number(), gateway: z.string(), oif: z.number(),
  protocol: z.number(), scope: z.number(), type: z.number(), priority: z.number(), prefsrc: z.string(), complex: z.boolean(),
}) satisfies z.ZodType<Route>;
const RuleSchema = z.object({
  family: z.enum(['inet', 'inet6']), priority: z.number(), action: z.string(), table: z.number(), src: z.string(), srcLen: z.number(),
  dst: z.string(), dstLen: z.number(), tos: z.number(), invert: z.boolean(), fwmark: z.number(), fwmask: z.number(), iif: z.string(),
  oif: z.string(), gotoPriority: z.number(), suppressPrefixlen: z.number(), suppressIfgroup: z.number(), protocol: z.number(),
  l3mdev: z.boolean(), uidRange: z.string(), ipProto: z.number(), sportRange: z.string(), dportRange: z.string(), complex: z.boolean(),
}) satisfies z.ZodType<Rule>;
const Texts = z.array(z.string().nullable());
const HEX = z.string().regex(/^(?:[0-9a-f]{2}){0,64}$/);
/** What each op answers, checked before anything of it is used. */
const OK: Record<Exclude<ThreadOp['kind'], 'routeSocket'>, z.ZodType> = {
  // Names are bytes (a hostname need not be UTF-8): the reader sends them as hex.
  uname: z.object({ nodename: HEX, domainname: HEX }).transform(namesFromHex),
  files: Texts,
  pinnedFiles: Texts,
  sysctls: Texts,
  netDump: z.object({ links: z.array(LinkSchema).nullable(), addrs: z.array(AddrSchema), rules: z.array(RuleSchema), routes: z.array(RouteSchema) }),
};
const Failure = z.object({
  error: z.union([z.object({ syscall: z.string(), errno: z.number().int(), path: z.string().nullable() }), z.object({ message: z.string() })]),
});

/**
 * Carry out `op` inside the namespaces `joins` (nsenter paths; a user namespace first, so that an
 * unprivileged owner then has the capabilities to join the rest) with nsdump's own reader: the
 * same code as in-process, so the same answer. Pinned files are handed over open (fds 4, 5, …):
 * the helper, in a child user namespace, may not follow our fds through /proc (ptrace rules).
 * A kernel refusal inside comes back as that SyscallError; a helper that cannot run, as HelperError.
 */
export function runInside<O extends ThreadOp>(joins: { type: 'user' | 'uts' | 'ipc' | 'net' | 'cgroup'; path: string }[], op: O): ThreadOpResult<O> {
  if (op.kind === 'routeSocket') throw new HelperError('a socket cannot come back from a helper');
  const opened: number[] = [];
  try {
    let sent: ThreadOp = op;
    if (op.kind === 'pinnedFiles') {
      for (const f of op.files) opened.push(openAt(f.dirfd, f.name, undefined, f.what));
      sent = { kind: 'files', paths: opened.map((_, i) => `/proc/self/fd/${ANSWER_FD + 1 + i}`) };
    }
    const args = joins.map((j) => `--${j.type}=${j.path}`);
    if (joins.some((j) => j.type === 'user')) args.push('--preserve-credentials');
    args.push('--', process.execPath, READER, JSON.stringify(sent));
    // The reader is a Node process of ours: started without the certificate bundle (model/node-env.ts).
    const r = spawnSync('nsenter', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', ...opened], timeout: 30_000, maxBuffer: 64 << 20, env: nodeHelperEnv() });
    if (r.error) throw new HelperError(`nsenter: ${r.error.message}`);
    const stderr = r.stderr?.toString().trim() ?? '';
    if (r.status !== 0) throw new HelperError(`nsenter: ${stderr || `exit ${r.status ?? r.signal}`}`);
    let answer: unknown;
    try {
      answer = JSON.parse(r.output[ANSWER_FD]?.toString() ?? '');
    } catch {
      throw new HelperError(`ns-reader: no answer${stderr ? ` (${stderr})` : ''}`);
    }
    // A list of texts answers the list of files asked for, one each: callers index into it.
    const asked = op.kind === 'files' || op.kind === 'sysctls' ? op.paths.length : op.kind === 'pinnedFiles' ? op.files.length : undefined;
    const ok = z.object({ ok: asked === undefined ? OK[op.kind] : Texts.length(asked) }).safeParse(answer);
    if (ok.success) return ok.data.ok as ThreadOpResult<O>;
    const failed = Failure.safeParse(answer);
    if (!failed.success) throw new HelperError(`ns-reader: unexpected answer: ${ok.error.message}`);
    const e = failed.data.error;
    if ('syscall' in e) throw new SyscallError(e.syscall, e.errno, e.path ?? undefined);
    throw new HelperError(`ns-reader: ${e.message}`);
  } finally {
    for (const fd of opened) close(fd);
  }
}
