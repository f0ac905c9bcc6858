// Why: `nsdump caps`: what capabilities a process has over a namespace, and the rule that decides
// it, from the running system (--live) or from an image's recorded credentials: both sources are
// mapped onto the same pure rule (model/caps.ts), so their answers can be compared.
import { allPids, isMember, liveCredentials, LiveUsers, resolveTarget } from '../discover/live-caps.js';
import { NoSuchProcessError } from '../discover/errors.js';
import { readImage } from '../image/read.js';
import { SyscallError } from '../kernel/errors.js';
import { capNumber, CAP_NAMES, explain, OPERATION_NOTES, type CapsAnswer as Answer, type NsKind } from '../model/caps.js';
import { hasCredentials, imageCredentials, imageUsers, isImageMember, resolveImageTarget } from '../model/image-caps.js';
import { UsageError } from './exit-codes.js';

export interface CapsOptions {
  dir?: string;
  live: boolean;
  pid?: number;
  ns: string;
  cap?: string;
  json: boolean;
}

/** What both sources hand the printer: the answers, and the target's names. */
interface Answers {
  type: NsKind;
  ns: string;
  owner: string;
  answers: Answer[];
  /** Processes of an image left out because it records no credentials for them. */
  withoutCredentials: number[];
}

/** The filter of a question without --pid: who holds it, and who might (undecided answers are listed, not dropped). */
const holds = (a: Answer, cap: number | undefined) => a.rules[0]!.rule === 'unknown' || (cap === undefined ? a.capabilities.length > 0 : a.cap!.held);

function fromLive(opts: CapsOptions, cap: number | undefined): Answers {
  const users = new LiveUsers();
  const target = resolveTarget(users, opts.ns);
  const answers: Answer[] = [];
  const one = (pid: number) => explain(users.table, liveCredentials(users, pid), target, isMember(pid, target), cap);
  if (opts.pid !== undefined) {
    try {
      answers.push(one(opts.pid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err instanceof SyscallError && err.code === 'ENOENT')) {
        throw new NoSuchProcessError(opts.pid);
      }
      throw err;
    }
  } else {
    for (const pid of allPids()) {
      let a: Answer;
      try {
        a = one(pid);
      } catch {
        continue; // gone meanwhile, or a kernel thread without a readable user namespace
      }
      if (holds(a, cap)) answers.push(a);
    }
  }
  return { type: target.type, ns: target.name, owner: users.table[target.userNs - 1]!.name, answers, withoutCredentials: [] };
}

function fromImage(dir: string, opts: CapsOptions, cap: number | undefined): Answers {
  const img = readImage(dir);
  if (!hasCredentials(img)) throw new UsageError(`${dir}: this image records no process credentials (written before nsdump dumped them); ask the running system with --live`);
  const target = resolveImageTarget(img, opts.ns);
  const users = imageUsers(img);
  const answers: Answer[] = [];
  const withoutCredentials: number[] = [];
  const procs = opts.pid === undefined ? img.processes : img.processes.filter((p) => p.pid === opts.pid);
  if (opts.pid !== undefined && !procs.length) throw new NoSuchProcessError(opts.pid);
  for (const p of procs) {
    const cred = imageCredentials(p);
    if (cred === null) {
      if (opts.pid !== undefined) throw new UsageError(`${dir}: pid ${p.pid}: the image records no credentials for it (its /proc/PID/status could not be read at dump time)`);
      withoutCredentials.push(p.pid);
      continue;
    }
    const a = explain(users, cred, target, isImageMember(p, target), cap);
    if (opts.pid !== undefined || holds(a, cap)) answers.push(a);
  }
  const owner = target.userNs === null ? '(beyond scope)' : users.find((u) => u.id === target.userNs)?.name ?? String(target.userNs);
  return { type: target.type, ns: target.name, owner, answers, withoutCredentials };
}

function text(a: Answer): string {
  const caps = a.rules[0]!.rule === 'unknown' ? 'undecided' : a.cap ? `${a.cap.name} ${a.cap.held ? 'yes' : 'no'}` : a.capabilities.length === CAP_NAMES.length ? 'every capability' : a.capabilities.length ? a.capabilities.join(', ') : 'no capability';
  return [`pid ${a.pid} over ${a.ns} (owned by ${a.owner}): ${caps}`, `  because ${a.cap ? a.cap.why : a.rules[0]!.text}`, `  pid ${a.pid} is ${a.member ? '' : 'not '}in ${a.ns}`].join('\n');
}

export async function capsCommand(opts: CapsOptions): Promise<number> {
  if (opts.live && opts.dir !== undefined) throw new UsageError('caps: give an image directory or --live, not both');
  if (!opts.live && opts.dir === undefined) throw new UsageError('caps needs an image directory or --live');
  const cap = opts.cap === undefined ? undefined : capNumber(opts.cap);
  if (opts.cap !== undefined && cap === undefined) throw new UsageError(`--cap ${opts.cap}: not a capability name (CAP_SYS_ADMIN, net_admin, …)`);
  const r = opts.dir === undefined ? fromLive(opts, cap) : fromImage(opts.dir, opts, cap);
  const notes = OPERATION_NOTES[r.type];
  const skipped = r.withoutCredentials.length ? { withoutCredentials: r.withoutCredentials } : {};
  if (opts.json) {
    const out = opts.pid !== undefined ? { ...r.answers[0]!, notes } : { ns: r.ns, owner: r.owner, ...(cap === undefined ? {} : { cap: CAP_NAMES[cap] }), processes: r.answers, ...skipped, notes };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`${r.answers.map(text).join('\n')}${r.answers.length ? '\n' : `no process holds ${cap === undefined ? 'any capability' : CAP_NAMES[cap]} over ${r.ns}\n`}`);
    if (r.withoutCredentials.length) process.stdout.write(`not asked: ${r.withoutCredentials.length} process${r.withoutCredentials.length === 1 ? '' : 'es'} without recorded credentials (${r.withoutCredentials.join(', ')})\n`);
    process.stdout.write(`capability over ${r.ns} is not yet permission: ${notes.join('; ')}\n`);
  }
  return 0;
}
