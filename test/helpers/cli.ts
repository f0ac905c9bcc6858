// Why: run the real command line, as a user would, and read what it wrote.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Image } from '../../src/model/image.js';
import { CLI } from './paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node CLI ARGS`, after `prefix` if given; `node`, `cli` and `cwd` run another copy (see other-uid.ts). */
export function nsdump(args: string[], opts: { prefix?: string[]; timeout?: number; node?: string; cli?: string; cwd?: string } = {}): CliResult {
  const cmd = opts.prefix ?? [];
  const node = opts.node ?? process.execPath;
  const r = spawnSync(cmd[0] ?? node, [...cmd.slice(1), ...(cmd.length ? [node] : []), opts.cli ?? CLI, ...args], {
    encoding: 'utf8',
    timeout: opts.timeout ?? 60_000,
    cwd: opts.cwd,
    // Large images print megabytes (spawnSync's 1 MiB default would end the child).
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh directory under the system tmpdir, removed on teardown. */
export function tempDir(t: ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'nsdump-test-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** `nsdump dump PID -o DIR` then `nsdump show DIR --json`: the image as scripts see it. */
export function dumpToJson(t: ExecutionContext, pid: number): { dir: string; img: Image } {
  const dir = join(tempDir(t), 'img');
  const d = nsdump(['dump', String(pid), '-o', dir, '-q']);
  if (d.code !== 0) throw new Error(`dump ${pid} failed (${d.code}): ${d.stderr}`);
  const s = nsdump(['show', dir, '--json']);
  if (s.code !== 0) throw new Error(`show failed (${s.code}): ${s.stderr}`);
  return { dir, img: JSON.parse(s.stdout) as Image };
}
