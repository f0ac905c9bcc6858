// Why: a program of its own (dist/bin/ns-reader.js) that a dump runs where its own threads may
// not go: util-linux nsenter joins a user namespace the dumper owns (a rootless container's) and
// then the namespace to read, single-threaded, and execs this; so every thread of it is born
// inside. It carries out one ThreadOp there — the very code the dumper runs in-process, netlink
// reads included — and writes the answer as JSON to fd 3, a pipe nothing else writes to (stdout
// and stderr stay free for whatever node or a library may print). helper.ts validates it.
import { writeSync } from 'node:fs';
import { SyscallError } from '../kernel/errors.js';
import { runThreadOp, type ThreadOp } from '../kernel/thread-ops.js';
import { ANSWER_FD, namesToHex } from './reader-protocol.js';

let answer: unknown;
try {
  const op = JSON.parse(process.argv[2] ?? '') as ThreadOp;
  const ok = runThreadOp(op);
  // JSON has no bytes: uname's names go as hex (helper.ts turns them back).
  answer = { ok: op.kind === 'uname' ? namesToHex(ok as { nodename: Uint8Array; domainname: Uint8Array }) : ok };
} catch (err) {
  answer = { error: err instanceof SyscallError ? { syscall: err.syscall, errno: err.errno, path: err.path ?? null } : { message: String((err as Error)?.message ?? err) } };
}
const text = Buffer.from(JSON.stringify(answer));
for (let off = 0; off < text.length; ) off += writeSync(ANSWER_FD, text, off);
