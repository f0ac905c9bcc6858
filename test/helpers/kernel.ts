// Why: what the kernel says, asked independently of nsdump's own code: Node's readlink, util-linux
// lsns and nsenter, and /proc files read directly.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import type { Image, Namespace } from '../../src/model/image.js';
import { NS_LINKS } from '../../src/model/species.js';

export function inodeOf(pid: number, link: string): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${link}`))![1]);
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * lsns reads every process of the system, and util-linux 2.38's exits 1 without a word when one
 * vanishes mid-scan: measured here, 11 of 100 runs while another process made and ended pid
 * namespaces in a loop (other tests, other users of the machine). Such a run says nothing about the
 * tree under test, so it is asked again; any other failure, or five silent ones, is an error.
 */
export function lsns(args: string[]): string {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync('lsns', args, { encoding: 'utf8' });
    if (r.status === 0) return r.stdout;
    if (r.status !== 1 || r.stderr.trim() !== '' || attempt === 5) throw new Error(`lsns ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  }
}

/** lsns's view of owner (ONS) and parent (PNS) by namespace inode, for every namespace with a process. */
export function lsnsRelations(): Map<number, { type: string; pns: number; ons: number }> {
  const out = JSON.parse(lsns(['-J', '-o', 'NS,TYPE,PNS,ONS'])) as { namespaces: { ns: number; type: string; pns: number; ons: number }[] };
  return new Map(out.namespaces.map((n) => [Number(n.ns), { type: n.type, pns: Number(n.pns), ons: Number(n.ons) }]));
}

/** Run a command inside some namespaces of a process (nsenter flags such as -u, -i, -U). */
export function inside(pid: number, flags: string[], cmd: string[]): string {
  return run('nsenter', ['-t', String(pid), ...flags, '--', ...cmd]);
}

export function nsPidOf(pid: number): number[] {
  const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))!;
  return m[1]!.trim().split(/\s+/).map(Number);
}

export function byId(img: Image, id: number | null): Namespace {
  if (id === null) throw new Error('null namespace id');
  const n = img.namespaces[id - 1];
  if (!n || n.id !== id) throw new Error(`no namespace #${id}`);
  return n;
}

/**
 * The checks every dumped topology must pass against the live kernel: each process's ten links
 * name the namespaces the kernel shows; owners and parents agree with lsns; nothing is listed
 * before its owner or parent; every namespace has an owner unless the kernel put it beyond scope.
 */
export function assertMatchesKernel(t: ExecutionContext, img: Image): void {
  for (const p of img.processes) {
    for (const link of NS_LINKS) {
      const id = p.namespaces[link];
      if (id === null) continue;
      t.is(byId(img, id).inode, inodeOf(p.pid, link), `pid ${p.pid} ${link}`);
    }
  }
  const lsns = lsnsRelations();
  for (const n of img.namespaces) {
    if (n.owner !== null) t.true(n.owner < n.id, `${n.type}#${n.id} listed after its owner`);
    if (n.parent !== null) t.true(n.parent < n.id, `${n.type}#${n.id} listed after its parent`);
    if (n.owner === null) t.true(n.ownerBeyondScope, `${n.type}#${n.id} has no owner and no edge`);
    const k = lsns.get(n.inode);
    if (!k) continue;
    t.is(k.type, n.type);
    if (n.owner !== null) t.is(byId(img, n.owner).inode, k.ons, `${n.type}#${n.id} owner`);
    if (n.parent !== null) t.is(byId(img, n.parent).inode, k.pns, `${n.type}#${n.id} parent`);
  }
  t.deepEqual(img.namespaces.map((n) => n.id), img.namespaces.map((_, i) => i + 1), 'dense ids in file order');
}

/** Pids of the processes of a session (a topology runs in its own), from /proc/PID/stat. */
export function sessionMembers(sid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[3]) === sid) out.push({ pid: Number(d), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * Processes a restore made: each carries NSDUMP_RESTORE=<executor pid> in its environment, also
 * after it was re-parented. Zombies are listed too (their environment is gone: found as children
 * of the tagged processes and of the executor).
 */
export function restoreMembers(executor: number): { pid: number; state: string; comm: string }[] {
  const tag = `NSDUMP_RESTORE=${executor}\0`;
  const out: { pid: number; state: string; comm: string }[] = [];
  const parents = new Set<number>([executor]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').includes(tag)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      out.push({ pid: Number(d), state: stat.slice(close + 2, close + 3), comm: stat.slice(stat.indexOf('(') + 1, close) });
      parents.add(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  for (const p of parents) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      continue;
    }
    for (const k of kids) {
      try {
        const stat = readFileSync(`/proc/${k}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const state = stat.slice(close + 2, close + 3);
        if (state === 'Z' && !out.some((o) => o.pid === Number(k))) out.push({ pid: Number(k), state, comm: stat.slice(stat.indexOf('(') + 1, close) });
      } catch {
        // gone
      }
    }
  }
  return out;
}
