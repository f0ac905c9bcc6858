// Why: a picture is only proven by a real renderer. Debian's chromium, headless, loads a page or
// an SVG file, runs its scripts (Mermaid's renderer) and gives back the DOM after them or a
// screenshot. It runs in its own process group, ended by that group's id on return or timeout.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The chromium binary, or undefined (the tests that need it then skip and say why). */
export function chromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

async function runChromium(bin: string, args: string[], ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), `nsdump-chromium-${process.pid}-`));
  const child = spawn(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', `--user-data-dir=${profile}`, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const end = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
  };
  try {
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        end();
        stderr += `\n(killed after ${ms} ms)`;
      }, ms);
      // 'close', not 'exit': the DOM may still be in the pipe when the process has exited.
      child.once('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, stdout, stderr };
  } finally {
    end();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM after the page's scripts ran (virtual time lets Mermaid's async rendering finish). */
export async function dumpDom(bin: string, url: string, ms = 90_000): Promise<string> {
  const r = await runChromium(bin, ['--virtual-time-budget=30000', '--dump-dom', url], ms);
  if (r.code !== 0 || !r.stdout) throw new Error(`chromium --dump-dom ${url}: exit ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** A PNG screenshot of the page at `png`. */
export async function screenshot(bin: string, url: string, png: string, size = '1600,1200', ms = 90_000): Promise<void> {
  const r = await runChromium(bin, ['--virtual-time-budget=30000', `--window-size=${size}`, `--screenshot=${png}`, url], ms);
  if (r.code !== 0) throw new Error(`chromium --screenshot ${url}: exit ${r.code}: ${r.stderr.slice(-2000)}`);
}
