// `nsdump caps --live` against the kernel: processes made with setpriv and unshare (other uids,
// dropped, ambient and bounded capabilities, nested user namespaces) each in a uts namespace of
// their own; what caps predicts for CAP_SYS_ADMIN over that namespace must agree with whether the
// same process may then sethostname there (`hostname`, exec'd with the very credentials it has:
// an execve from these credentials leaves them as they are).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { nsdump } from './helpers/cli.js';

interface Waiter {
  pid: number;
  attempt(): Promise<number>;
}

/** Run `prefix… sh -c …`: it prints "ready PID", waits for a line on stdin, tries `hostname`, prints "rc=N". */
async function start(t: ExecutionContext, prefix: string[], name: string): Promise<Waiter> {
  const body = `echo ready $$; read x; hostname ${name} 2>/dev/null; echo rc=$?; exec sleep 100000`;
  const child = spawn(prefix[0]!, [...prefix.slice(1), 'sh', '-c', body], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
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
      const timer = setTimeout(() => reject(new Error(`${prefix.join(' ')}: no line after 30 s (stderr: ${err})`)), 30_000);
      waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
      child.once('exit', (c) => reject(new Error(`${prefix.join(' ')}: exited ${c} (stderr: ${err})`)));
    });
  const ready = await next();
  const m = /^ready (\d+)$/.exec(ready);
  if (!m) throw new Error(`unexpected: ${ready}`);
  return {
    pid: Number(m[1]),
    attempt: async () => {
      child.stdin.write('go\n');
      return Number(/^rc=(\d+)$/.exec(await next())![1]);
    },
  };
}

const AS_1000 = ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'];

const CASES: { name: string; prefix: string[]; expect: boolean }[] = [
  { name: 'host root in a new uts ns', prefix: ['unshare', '--uts'], expect: true },
  { name: 'host root with CAP_SYS_ADMIN dropped from the bounding set', prefix: ['unshare', '--uts', 'setpriv', '--bounding-set=-sys_admin'], expect: false },
  { name: 'uid 1000 without capabilities, uts owned by the initial user ns', prefix: ['unshare', '--uts', ...AS_1000, '--inh-caps=-all'], expect: false },
  { name: 'uid 1000 with CAP_SYS_ADMIN ambient', prefix: ['unshare', '--uts', ...AS_1000, '--inh-caps=+sys_admin', '--ambient-caps=+sys_admin'], expect: true },
  { name: 'root of a child user ns that owns the uts', prefix: ['unshare', '--user', '--map-root-user', '--uts'], expect: true },
  { name: 'root of a child user ns, bounding set without CAP_SYS_ADMIN', prefix: ['unshare', '--user', '--map-root-user', '--uts', 'setpriv', '--bounding-set=-sys_admin'], expect: false },
  { name: 'uid 1000 in a child user ns mapping no uid 0', prefix: ['unshare', '--user', '--map-user=1000', '--uts'], expect: false },
  { name: 'uid 1000 in a child user ns mapping no uid 0, --keep-caps (ambient)', prefix: ['unshare', '--user', '--map-user=1000', '--uts', '--keep-caps'], expect: true },
  { name: 'root two user namespaces down, made by uid 1000 on the host', prefix: [...AS_1000, '--inh-caps=-all', 'unshare', '--user', '--map-root-user', 'unshare', '--user', '--map-root-user', '--uts'], expect: true },
  {
    name: 'a uts ns owned by the parent user ns, root of the child without caps there',
    prefix: ['unshare', '--user', '--map-root-user', '--uts', 'unshare', '--user', '--map-user=1000'],
    expect: false,
  },
];

CASES.forEach((c, i) => {
  test(`caps --live agrees with the kernel: ${c.name}`, async (t) => {
    const w = await start(t, c.prefix, `caps${process.pid}x${i}`);
    const ns = i % 2 ? `uts:${w.pid}` : `/proc/${w.pid}/ns/uts`;
    const r = nsdump(['caps', '--live', '--pid', String(w.pid), '--ns', ns, '--cap', 'CAP_SYS_ADMIN', '--json']);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { cap: { held: boolean; why: string }; member: boolean; rules: { rule: string }[]; notes: string[] };
    t.log(`predicted ${out.cap.held}: ${out.cap.why}`);
    t.true(out.member);
    t.is(out.cap.held, c.expect, 'the prediction is the expected one');
    const rc = await w.attempt();
    t.is(rc === 0, out.cap.held, `sethostname exited ${rc}`);
    t.true(out.notes.some((n) => /sethostname/.test(n)));
  });
});

test('caps: usage errors', (t) => {
  const none = nsdump(['caps', '--ns', 'uts:1']);
  t.is(none.code, 2);
  t.regex(none.stderr, /^nsdump: caps needs an image directory or --live/);
  const img = nsdump(['caps', '/nonexistent', '--ns', 'uts:1']);
  t.is(img.code, 2);
  t.regex(img.stderr, /record no process credentials; ask the running system with --live/);
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
