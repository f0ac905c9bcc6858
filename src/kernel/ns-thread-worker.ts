// Why: the body of the disposable thread (ns-thread.ts). It enters whatever uts/ipc/net/cgroup
// namespace it is asked to, runs one ThreadOp there and answers; it never tries to come back, so
// no switch can strand the dumper's main thread. Only synchronous work: a thread it started now
// would inherit the foreign namespaces for good.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { setns } from './ffi.js';
import { SyscallError } from './errors.js';
import { runThreadOp, type ThreadOp } from './thread-ops.js';

export interface Request {
  fd: number;
  nstype: number;
  what: string;
  op: ThreadOp;
}
export type Response = { ok: unknown } | { error: { syscall: string; errno: number; path: string | undefined } | { message: string } };

const { flag, port } = workerData as { flag: SharedArrayBuffer; port: MessagePort };
const done = new Int32Array(flag);

parentPort!.on('message', (req: Request) => {
  let res: Response;
  try {
    setns(req.fd, req.nstype, req.what);
    res = { ok: runThreadOp(req.op) };
  } catch (err) {
    res = { error: err instanceof SyscallError ? { syscall: err.syscall, errno: err.errno, path: err.path } : { message: String((err as Error)?.message ?? err) } };
  }
  port.postMessage(res);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
});
