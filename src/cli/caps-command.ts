// Why: `nsdump caps`: what capabilities a process has over a namespace, and the rule that decides
// it, from the running system (--live). Images of format 1 record no credentials; once the dump
// records them, the same pure rule (model/caps.ts) answers from an image.
import { allPids, isMember, liveCredentials, LiveUsers, resolveTarget, type LiveTarget } from '../discover/live-caps.js';
import { NoSuchProcessError } from '../discover/errors.js';
import { SyscallError } from '../kernel/errors.js';
import { capBit, capList, capNumber, capsIn, CAP_NAMES, OPERATION_NOTES, whyNotEffective, type Credentials } from '../model/caps.js';
import { UsageError } from './exit-codes.js';

export interface CapsOptions {
  dir?: string;
  live: boolean;
  pid?: number;
  ns: string;
  cap?: string;
  json: boolean;
}

interface Answer {
  pid: number;
  ns: string;
  owner: string;
  capabilities: string[];
  rules: { rule: string; userNs: string; text: string }[];
  /** Whether the process is in the namespace itself (some operations need it besides the capability). */
  member: boolean;
  cap?: { name: string; held: boolean; why: string };
}

function answer(users: LiveUsers, cred: Credentials, target: LiveTarget, cap: number | undefined): Answer {
  const v = capsIn(users.table, cred, target.userNs);
  const name = (id: number) => users.table[id - 1]?.name ?? String(id);
  const a: Answer = {
    pid: cred.pid,
    ns: target.name,
    owner: name(target.userNs),
    capabilities: capList(v.caps),
    rules: v.rules.map((r) => ({ rule: r.rule, userNs: name(r.userNs), text: r.text })),
    member: isMember(cred.pid, target),
  };
  if (cap !== undefined) {
    const held = (v.caps & capBit(cap)) !== 0n;
    const rule = v.rules[0]!;
    const why = held ? rule.text : rule.rule === 'member' || rule.rule === 'ancestor' ? `${whyNotEffective(cred, cap)}; ${rule.text}` : rule.text;
    a.cap = { name: CAP_NAMES[cap]!, held, why };
  }
  return a;
}

function text(a: Answer): string {
  const caps = a.cap ? `${a.cap.name} ${a.cap.held ? 'yes' : 'no'}` : a.capabilities.length === CAP_NAMES.length ? 'every capability' : a.capabilities.length ? a.capabilities.join(', ') : 'no capability';
  return [`pid ${a.pid} over ${a.ns} (owned by ${a.owner}): ${caps}`, `  because ${a.cap ? a.cap.why : a.rules[0]!.text}`, `  pid ${a.pid} is ${a.member ? '' : 'not '}in ${a.ns}`].join('\n');
}

export async function capsCommand(opts: CapsOptions): Promise<number> {
  if (!opts.live) {
    if (opts.dir === undefined) throw new UsageError('caps needs an image directory or --live');
    throw new UsageError(`${opts.dir}: images of this format record no process credentials; ask the running system with --live`);
  }
  if (opts.dir !== undefined) throw new UsageError('caps: give an image directory or --live, not both');
  const cap = opts.cap === undefined ? undefined : capNumber(opts.cap);
  if (opts.cap !== undefined && cap === undefined) throw new UsageError(`--cap ${opts.cap}: not a capability name (CAP_SYS_ADMIN, net_admin, …)`);
  const users = new LiveUsers();
  const target = resolveTarget(users, opts.ns);
  const answers: Answer[] = [];
  if (opts.pid !== undefined) {
    try {
      answers.push(answer(users, liveCredentials(users, opts.pid), target, cap));
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
        a = answer(users, liveCredentials(users, pid), target, cap);
      } catch {
        continue; // gone meanwhile, or a kernel thread without a readable user namespace
      }
      if (cap === undefined ? a.capabilities.length > 0 : a.cap!.held) answers.push(a);
    }
  }
  const notes = OPERATION_NOTES[target.type];
  if (opts.json) {
    const out = opts.pid !== undefined ? { ...answers[0]!, notes } : { ns: target.name, owner: users.table[target.userNs - 1]!.name, ...(cap === undefined ? {} : { cap: CAP_NAMES[cap] }), processes: answers, notes };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`${answers.map(text).join('\n')}${answers.length ? '\n' : `no process holds ${cap === undefined ? 'any capability' : CAP_NAMES[cap]} over ${target.name}\n`}`);
    process.stdout.write(`capability over ${target.name} is not yet permission: ${notes.join('; ')}\n`);
  }
  return 0;
}
