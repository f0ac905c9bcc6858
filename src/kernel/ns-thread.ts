// Why: a worker thread used as a disposable OS thread (lxkns does the same with a locked goroutine
// whose thread dies afterwards). Calls are synchronous — the caller blocks on a shared flag and
// takes the answer off a message port — because state readers run in one synchronous stretch.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { SyscallError } from './errors.js';
import type { Request, Response } from './ns-thread-worker.js';
import type { ThreadOp } from './thread-ops.js';

const CALL_TIMEOUT_MS = 10_000;

export class NsThread {
  private readonly flag = new SharedArrayBuffer(4);
  private readonly done = new Int32Array(this.flag);
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;
  private dead: string | undefined;

  constructor() {
    this.worker = new Worker(new URL('./ns-thread-worker.js', import.meta.url), {
      workerData: { flag: this.flag, port: this.channel.port2 },
      transferList: [this.channel.port2],
      // Its stdio would be piped through the main thread's event loop, which is blocked while it runs.
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.worker.on('error', (err) => (this.dead = err.message));
    this.worker.on('exit', (code) => (this.dead ??= `exited with ${code}`));
  }

  run(fd: number, nstype: number, what: string, op: ThreadOp): unknown {
    Atomics.store(this.done, 0, 0);
    this.worker.postMessage({ fd, nstype, what, op } satisfies Request);
    if (Atomics.wait(this.done, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') {
      throw new Error(`namespace reader thread: no answer in ${CALL_TIMEOUT_MS / 1000} s${this.dead ? ` (${this.dead})` : ''}`);
    }
    const msg = receiveMessageOnPort(this.channel.port1);
    if (!msg) throw new Error('namespace reader thread: answered without a message');
    const res = msg.message as Response;
    if ('ok' in res) return res.ok;
    if ('syscall' in res.error) throw new SyscallError(res.error.syscall, res.error.errno, res.error.path);
    throw new Error(`namespace reader thread: ${res.error.message}`);
  }

  async end(): Promise<void> {
    this.channel.port1.close();
    await this.worker.terminate();
  }
}
