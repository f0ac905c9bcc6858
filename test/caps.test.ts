// `nsdump caps` against the kernel. Processes made with setpriv and unshare (other uids, dropped,
// ambient and bounded capabilities, nested user namespaces) act on a uts namespace: their own
// (sethostname from inside), or one of a child process in another user namespace (setns with
// nsenter, then sethostname: the ancestor and owner rules). What caps predicts for CAP_SYS_ADMIN
// must agree with what the kernel then allows the process (the action is exec'd with the very
// credentials it has), and an image dumped of the same processes must give the --live answer.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { nsdump, tempDir } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { expireAfter } from './helpers/child.js';

interface Waiter {
  /** The process X that acts. */
  pid: number;
  /** The process whose uts namespace is acted on (X itself, or a child of X). */
  target: number;
  /** The process the test spawned: the root of the tree to dump (X, or X's parent). */
  root: number;
  attempt(): Promise<number>;
}

/**
 * Run `prefix… sh -c SCRIPT`. SCRIPT sets T (the target's pid) and execs, with whatever credentials
 * it chooses, `sh -c "$TAIL"`: TAIL prints "ready X T", waits for a line on stdin, runs the action
 * and prints "rc=N".
 */
async function start(t: ExecutionContext, prefix: string[], script: string, action: string): Promise<Waiter> {
  const tail = `echo ready $$ $T; read x; ${action} >/dev/null 2>&1; echo rc=$?; exec sleep 100000`;
  const argv = [...prefix, 'sh', '-c', script];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TAIL: tail } });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  let buf = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const l = lines.shift();
      if (l !== undefined) return resolve(l);
      const timer = expireAfter(30_000, () => reject(new Error(`${prefix.join(' ')}: no line after 30 s (stderr: ${err})`)));
      waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
      child.once('exit', (c) => reject(new Error(`${prefix.join(' ')}: exited ${c} (stderr: ${err})`)));
    });
  const ready = await next();
  const m = /^ready (\d+) (\d+)$/.exec(ready);
  if (!m) throw new Error(`unexpected: ${ready}`);
  return {
    pid: Number(m[1]),
    target: Number(m[2]),
    root: child.pid!,
    attempt: async () => {
      child.stdin.write('go\n');
      return Number(/^rc=(\d+)$/.exec(await next())![1]);
    },
  };
}

const AS_1000 = ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'];
const AS_1001 = ['setpriv', '--reuid=1001', '--regid=1001', '--clear-groups'];

/** X acts on its own uts namespace: T is X. */
const SELF = 'export T=$$; exec sh -c "$TAIL"';
/** X starts T (`cmd… sleep` in the background), waits until T has exec'd sleep (so every unshare is done), then acts. */
const child = (cmd: string[]) => `${cmd.join(' ')} sleep 100000 & T=$!; while [ "$(cat /proc/$T/comm 2>/dev/null)" != sleep ]; do sleep 0.01; done; export T; exec sh -c "$TAIL"`;
const CHILD_USERNS = ['unshare', '--user', '--map-root-user', '--uts'];
const GRANDCHILD_USERNS = ['unshare', '--user', '--map-root-user', ...CHILD_USERNS];
/** Join T's uts namespace only (setns needs CAP_SYS_ADMIN over its owner and in the caller's own user namespace). */
const enterUts = (name: string) => `nsenter --uts=/proc/$T/ns/uts hostname ${name}`;
/** Join T's user namespace first, then its uts (what an unprivileged owner has to do); fds 7 and 8 when given. */
const enterUserUts = (name: string, fds = false) =>
  `nsenter --preserve-credentials --user=${fds ? '/proc/self/fd/7' : '/proc/$T/ns/user'} --uts=${fds ? '/proc/self/fd/8' : '/proc/$T/ns/uts'} hostname ${name}`;

interface Case {
  name: string;
  prefix: string[];
  script: string;
  action: (hostname: string) => string;
  expect: boolean;
  rule: 'member' | 'ancestor' | 'owner' | 'none';
}

const CASES: Case[] = [
  // X in its own uts namespace: sethostname from inside.
  { name: 'host root in a new uts ns', prefix: ['unshare', '--uts'], script: SELF, action: (h) => `hostname ${h}`, expect: true, rule: 'member' },
  { name: 'host root with CAP_SYS_ADMIN dropped from the bounding set', prefix: ['unshare', '--uts', 'setpriv', '--bounding-set=-sys_admin'], script: SELF, action: (h) => `hostname ${h}`, expect: false, rule: 'member' },
  { name: 'uid 1000 without capabilities, uts owned by the initial user ns', prefix: ['unshare', '--uts', ...AS_1000, '--inh-caps=-all'], script: SELF, action: (h) => `hostname ${h}`, expect: false, rule: 'member' },
  { name: 'uid 1000 with CAP_SYS_ADMIN ambient', prefix: ['unshare', '--uts', ...AS_1000, '--inh-caps=+sys_admin', '--ambient-caps=+sys_admin'], script: SELF, action: (h) => `hostname ${h}`, expect: true, rule: 'member' },
  { name: 'root of a child user ns that owns the uts', prefix: ['unshare', '--user', '--map-root-user', '--uts'], script: SELF, action: (h) => `hostname ${h}`, expect: true, rule: 'member' },
  { name: 'root of a child user ns, bounding set without CAP_SYS_ADMIN', prefix: ['unshare', '--user', '--map-root-user', '--uts', 'setpriv', '--bounding-set=-sys_admin'], script: SELF, action: (h) => `hostname ${h}`, expect: false, rule: 'member' },
  { name: 'uid 1000 in a child user ns mapping no uid 0', prefix: ['unshare', '--user', '--map-user=1000', '--uts'], script: SELF, action: (h) => `hostname ${h}`, expect: false, rule: 'member' },
  { name: 'uid 1000 in a child user ns mapping no uid 0, --keep-caps (ambient)', prefix: ['unshare', '--user', '--map-user=1000', '--uts', '--keep-caps'], script: SELF, action: (h) => `hostname ${h}`, expect: true, rule: 'member' },
  { name: 'root two user namespaces down, made by uid 1000 on the host', prefix: [...AS_1000, '--inh-caps=-all', 'unshare', '--user', '--map-root-user', 'unshare', '--user', '--map-root-user', '--uts'], script: SELF, action: (h) => `hostname ${h}`, expect: true, rule: 'member' },
  { name: 'a uts ns owned by the parent user ns, root of the child without caps there', prefix: ['unshare', '--user', '--map-root-user', '--uts', 'unshare', '--user', '--map-user=1000'], script: SELF, action: (h) => `hostname ${h}`, expect: false, rule: 'none' },
  // X acts on the uts namespace of a child T in another user namespace: the ancestor and owner rules.
  { name: 'host root enters the uts ns of a user ns made by uid 1000 (ancestor)', prefix: [], script: child([...AS_1000, ...CHILD_USERNS]), action: enterUts, expect: true, rule: 'ancestor' },
  { name: 'host root enters a uts ns two user namespaces down (ancestor)', prefix: [], script: child([...AS_1000, ...GRANDCHILD_USERNS]), action: enterUts, expect: true, rule: 'ancestor' },
  { name: 'host root without CAP_SYS_ADMIN (bounding) cannot enter it (ancestor)', prefix: ['setpriv', '--bounding-set=-sys_admin'], script: child([...AS_1000, ...CHILD_USERNS]), action: (h) => enterUserUts(h), expect: false, rule: 'ancestor' },
  { name: 'uid 1000 without capabilities owns the user ns it made: joins it and its uts (owner)', prefix: [...AS_1000, '--inh-caps=-all'], script: child(CHILD_USERNS), action: (h) => enterUserUts(h), expect: true, rule: 'owner' },
  { name: 'uid 1000 without capabilities, a uts ns two user namespaces below one it made (owner)', prefix: [...AS_1000, '--inh-caps=-all'], script: child(GRANDCHILD_USERNS), action: (h) => enterUserUts(h), expect: true, rule: 'owner' },
  { name: 'root without CAP_SYS_ADMIN (bounding) owns the user ns it made (owner beats its own sets)', prefix: ['setpriv', '--bounding-set=-sys_admin'], script: child(CHILD_USERNS), action: (h) => enterUserUts(h), expect: true, rule: 'owner' },
  {
    // Root starts T as uid 1000, opens T's namespaces for X (fds 7, 8: no ptrace rule in the way), then becomes X, uid 1001.
    name: 'uid 1001 over a user ns uid 1000 made: not the owner, no capability (ancestor)',
    prefix: [],
    script: child([...AS_1000, ...CHILD_USERNS]).replace('export T; exec sh', `exec 7</proc/$T/ns/user 8</proc/$T/ns/uts; export T; exec ${AS_1001.join(' ')} --inh-caps=-all sh`),
    action: (h) => enterUserUts(h, true),
    expect: false,
    rule: 'ancestor',
  },
];

interface Json {
  capabilities: string[];
  member: boolean;
  rules: { rule: string; text: string }[];
  cap: { held: boolean; why: string };
  notes: string[];
}

function ask(t: ExecutionContext, args: string[]): Json {
  const r = nsdump(['caps', ...args, '--cap', 'CAP_SYS_ADMIN', '-J']);
  t.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Json;
}

const gist = (a: Json) => ({ capabilities: a.capabilities, rules: a.rules.map((r) => r.rule), member: a.member, held: a.cap.held });

CASES.forEach((c, i) => {
  test(`caps agrees with the kernel, image and --live: ${c.name}`, async (t) => {
    const w = await start(t, c.prefix, c.script, c.action(`caps${process.pid}x${i}`));
    const ns = i % 2 ? `uts:${w.target}` : `/proc/${w.target}/ns/uts`;
    const live = ask(t, ['--live', '--pid', String(w.pid), '--ns', ns]);
    t.log(`predicted ${live.cap.held}: ${live.cap.why}`);
    t.is(live.member, w.pid === w.target);
    t.is(live.rules[0]!.rule, c.rule);
    t.is(live.cap.held, c.expect, 'the prediction is the expected one');
    t.true(live.notes.some((n) => /sethostname/.test(n)));
    const dir = join(tempDir(t), 'img');
    const d = nsdump(['dump', String(w.root), '-o', dir, '-q']);
    t.is(d.code, 0, d.stderr);
    const image = ask(t, [dir, '--pid', String(w.pid), '--ns', `uts:${w.target}`]);
    t.deepEqual(gist(image), gist(live), 'the image gives the --live answer');
    const rc = await w.attempt();
    t.is(rc === 0, live.cap.held, `the action exited ${rc}`);
  });
});

test('caps: the owner of a child user namespace still cannot setns into its uts namespace alone: setns also asks CAP_SYS_ADMIN in its own user namespace', async (t) => {
  const w = await start(t, [...AS_1000, '--inh-caps=-all'], child(CHILD_USERNS), enterUts(`caps${process.pid}own`));
  const over = ask(t, ['--live', '--pid', String(w.pid), '--ns', `uts:${w.target}`]);
  t.true(over.cap.held);
  t.is(over.rules[0]!.rule, 'owner');
  const own = ask(t, ['--live', '--pid', String(w.pid), '--ns', `user:${w.pid}`]);
  t.false(own.cap.held);
  t.true(over.notes.some((n) => /setns into it also needs CAP_SYS_ADMIN in the caller's own user namespace/.test(n)));
  t.not(await w.attempt(), 0, 'nsenter --uts alone is refused');
});

test('caps DIR --ns Y without --pid: the processes of the image that hold the capability, as --live finds them among the same pids', async (t) => {
  // uid 1000 without capabilities (X) and its child T, root of a user namespace X made: both hold CAP_SYS_ADMIN over T's uts.
  const w = await start(t, [...AS_1000, '--inh-caps=-all'], child(CHILD_USERNS), 'true');
  const dir = join(tempDir(t), 'img');
  const d = nsdump(['dump', String(w.root), '-o', dir, '-q']);
  t.is(d.code, 0, d.stderr);
  type List = { processes: { pid: number; rules: { rule: string }[]; cap: { held: boolean } }[] };
  const list = (args: string[]) => {
    const r = nsdump(['caps', ...args, '--ns', `uts:${w.target}`, '--cap', 'sys_admin', '-J']);
    t.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as List;
  };
  const image = list([dir]);
  const pids = new Set(image.processes.map((p) => p.pid));
  t.deepEqual([...pids].sort((a, b) => a - b), [w.pid, w.target].sort((a, b) => a - b));
  t.deepEqual(Object.fromEntries(image.processes.map((p) => [p.pid, p.rules[0]!.rule])), { [w.pid]: 'owner', [w.target]: 'member' });
  const live = list(['--live']).processes.filter((p) => pids.has(p.pid));
  const gistOf = (ps: List['processes']) => ps.map((p) => [p.pid, p.rules[0]!.rule, p.cap.held] as const).sort((a, b) => a[0] - b[0]);
  t.deepEqual(gistOf(live), gistOf(image.processes));
  const text = nsdump(['caps', dir, '--ns', `uts:${w.target}`]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^pid ${w.pid} over uts#\\d+ \\(owned by user#\\d+\\): every capability\\n  because user#\\d+ was created by euid 1000`, 'm'));
});

test('caps: usage errors', (t) => {
  const none = nsdump(['caps', '--ns', 'uts:1']);
  t.is(none.code, 2);
  t.regex(none.stderr, /^nsdump: caps needs an image directory or --live/);
  const old = nsdump(['caps', join(ROOT, 'fixtures/images/v1-mixed-children'), '--ns', '1']);
  t.is(old.code, 2);
  t.regex(old.stderr, /^nsdump: \S+v1-mixed-children: this image records no process credentials \(written before nsdump dumped them\); ask the running system with --live\n$/);
  t.is(nsdump(['caps', '/nonexistent', '--ns', 'uts:1']).code, 3);
  t.is(nsdump(['caps', '/nonexistent', '--live', '--ns', 'uts:1']).code, 2);
  const badCap = nsdump(['caps', '--live', '--pid', String(process.pid), '--ns', `uts:${process.pid}`, '--cap', 'CAP_FLY']);
  t.is(badCap.code, 2);
  t.regex(badCap.stderr, /--cap CAP_FLY: not a capability name/);
  const badNs = nsdump(['caps', '--live', '--pid', String(process.pid), '--ns', `bogus:${process.pid}`]);
  t.is(badNs.code, 2);
  const gone = nsdump(['caps', '--live', '--pid', '999999999', '--ns', `uts:${process.pid}`]);
  t.is(gone.code, 4, gone.stderr);
});

test('caps --live --ns Y --cap without --pid lists who holds it, this test among them', (t) => {
  const r = nsdump(['caps', '--live', '--ns', `uts:${process.pid}`, '--cap', 'sys_admin', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { processes: { pid: number; cap: { held: boolean } }[] };
  t.true(out.processes.some((p) => p.pid === process.pid));
  t.true(out.processes.every((p) => p.cap.held));
});
