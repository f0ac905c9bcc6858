// Pictures of real dumps: the SVG nsdump lays out itself and the Mermaid text Mermaid's own
// renderer draws, both opened in a real headless browser (Debian's chromium) with a screenshot
// kept for a person to look at; hostile hostnames stay text; diff colours what changed; and the
// WebAssembly behind SVG never loads with the other commands.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, dumpDom, screenshot } from './helpers/browser.js';
import { dumpToJson, nsdump, tempDir } from './helpers/cli.js';
import { inside } from './helpers/kernel.js';
import { ROOT } from './helpers/paths.js';
import { startTopology } from './helpers/topology.js';

// Each within the kernel's 64 bytes; written through /proc/sys, which takes any bytes but a newline.
const HOST = `<img src=x onerror="document.title='pwned'">"];`;
const DOMAIN = `<script>document.title='pwned'</script>&lt;`;

const BROWSER = chromium();
const shots = join(tmpdir(), `nsdump-pictures-${process.pid}`);
const browserTest = BROWSER ? test : test.skip;
if (!BROWSER) console.log('pictures: chromium not found (apt-get install chromium): the browser renderings are skipped');

async function hostileDump(t: ExecutionContext) {
  // Global root may write /proc/sys/kernel/hostname of a uts namespace it made (kernel-notes).
  const topo = await startTopology(t, 'hostile-hostname', { inline: `exec unshare --uts sh -c 'printf %s "$1" > /proc/sys/kernel/hostname; printf %s "$2" > /proc/sys/kernel/domainname; echo ready; exec sleep 100000' x "$1" "$2"`, args: [HOST, DOMAIN] });
  t.is(inside(topo.pid, ['-u'], ['hostname']).trim(), HOST, 'the kernel took the hostile hostname');
  return { topo, ...dumpToJson(t, topo.pid) };
}

test('show --format dot|mermaid|svg: exit 0, each namespace once, hostile strings stay data', async (t) => {
  const { dir, img } = await hostileDump(t);
  const dot = nsdump(['show', dir, '-f', 'dot']);
  t.is(dot.code, 0, dot.stderr);
  for (const n of img.namespaces) t.is(dot.stdout.split('\n').filter((l) => new RegExp(`^\\s*(subgraph cluster_ns${n.id} \\{|ns${n.id} \\[)`).test(l)).length, 1, `${n.type}#${n.id}`);
  t.false(dot.stdout.includes(HOST), 'the hostname is escaped in DOT');
  const svg = nsdump(['show', dir, '-f', 'svg']);
  t.is(svg.code, 0, svg.stderr);
  t.regex(svg.stdout, /^<\?xml|^<svg|<!DOCTYPE svg/);
  t.false(/<script|<img/i.test(svg.stdout));
  // Label lines wrap at spaces; what matters is that the markup arrives as escaped text, and a literal "&lt;" as "&amp;lt;".
  t.regex(svg.stdout, /&lt;script&gt;document\.title=(?:'|&#39;)pwned(?:'|&#39;)&lt;\/script&gt;&amp;lt;/, 'the domainname is text in the SVG');
  t.regex(svg.stdout, /&lt;img src=x/);
  const mmd = nsdump(['show', dir, '--format', 'mermaid']);
  t.is(mmd.code, 0, mmd.stderr);
  t.false(/[<>]script|<img/.test(mmd.stdout));
  const json = nsdump(['show', dir, '-J']);
  t.is(json.code, 0);
  t.deepEqual(JSON.parse(json.stdout), img);
  const parent = nsdump(['show', dir, '-f', 'dot', '--tree', 'parent']);
  t.is(parent.code, 0, parent.stderr);
  for (const n of img.namespaces) t.is(parent.stdout.split('\n').filter((l) => new RegExp(`^\\s*ns${n.id} \\[`).test(l)).length, 1, `--tree parent: ${n.type}#${n.id}`);
  t.false(parent.stdout.includes(HOST), 'the hostname is escaped in the parent view too');
  const bad = nsdump(['show', dir, '-f', 'svg', '--tree', 'process']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^nsdump: --tree process: /);
  const badPid = nsdump(['show', dir, '-p', '1']);
  t.is(badPid.code, 2);
  t.regex(badPid.stderr, /^nsdump: -p 1: no process of the image/);
});

browserTest('the SVG opens in chromium: every namespace drawn, the hostname as text, no script ran', async (t) => {
  const { dir, img } = await hostileDump(t);
  const d = tempDir(t);
  const svgPath = join(d, 'show.svg');
  const r = nsdump(['show', dir, '-f', 'svg']);
  t.is(r.code, 0, r.stderr);
  writeFileSync(svgPath, r.stdout);
  const dom = await dumpDom(BROWSER!, `file://${svgPath}`);
  t.false(/<script|<img/i.test(dom));
  // Graphviz names each node and cluster in a <title>: ns12, cluster_ns2.
  for (const n of img.namespaces) t.true(dom.includes(`<title>${n.type === 'user' ? 'cluster_' : ''}ns${n.id}</title>`), `${n.type}#${n.id} drawn`);
  t.regex(dom, /&lt;script&gt;document\.title='pwned'&lt;\/script&gt;&amp;lt;/, 'the domainname is shown as text');
  mkdirSync(shots, { recursive: true });
  const png = join(shots, 'show-svg.png');
  await screenshot(BROWSER!, `file://${svgPath}`, png);
  t.true(readFileSync(png).subarray(1, 4).toString() === 'PNG');
  t.log(`screenshot: ${png}`);
});

browserTest('the Mermaid text renders with Mermaid in chromium: every namespace drawn, no script ran', async (t) => {
  const { dir, img } = await hostileDump(t);
  const d = tempDir(t);
  const r = nsdump(['show', dir, '-f', 'mermaid']);
  t.is(r.code, 0, r.stderr);
  const page = join(d, 'mermaid.html');
  const src = JSON.stringify(r.stdout).replace(/</g, '\\u003c');
  writeFileSync(
    page,
    `<!doctype html><html><head><meta charset="utf-8"><title>nsdump-test</title>
<script src="file://${ROOT}node_modules/mermaid/dist/mermaid.min.js"></script></head>
<body><div id="status">pending</div><div id="out"></div><script>
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', maxTextSize: 5000000, maxEdges: 100000 });
mermaid.render('g', ${src}).then(({ svg }) => { document.getElementById('out').innerHTML = svg; document.getElementById('status').textContent = 'rendered'; },
  (e) => { document.getElementById('status').textContent = 'error: ' + e; });
</script></body></html>`,
  );
  const dom = await dumpDom(BROWSER!, `file://${page}`);
  t.regex(dom, /<div id="status">rendered<\/div>/, /<div id="status">([^<]*)/.exec(dom)?.[1] ?? 'no status');
  t.regex(dom, /<title>nsdump-test<\/title>/, 'no payload changed the title');
  t.false(/<img src="x"|<script>document/.test(dom));
  for (const n of img.namespaces) {
    if (n.type === 'user') t.regex(dom, new RegExp(`id="[^"]*cluster_ns${n.id}"`), `user#${n.id} drawn`);
    else t.regex(dom, new RegExp(`id="[^"]*flowchart-ns${n.id}-`), `${n.type}#${n.id} drawn`);
  }
  t.regex(dom, /&lt;script&gt;document\.title='pwned'&lt;\/script&gt;&amp;lt;/, 'the domainname is shown as text');
  t.regex(dom, /&lt;img src=x/, 'the hostname is shown as text');
  mkdirSync(shots, { recursive: true });
  const png = join(shots, 'show-mermaid.png');
  await screenshot(BROWSER!, `file://${page}`, png);
  t.log(`screenshot: ${png}`);
});

test('diff --format dot|svg colours the namespace whose state changed', async (t) => {
  const topo = await startTopology(t, 'three-levels');
  const { dir: a, img } = dumpToJson(t, topo.pid);
  const uts = img.namespaces.find((n) => n.type === 'uts' && n.state && (n.state as { hostname: string }).hostname === 'level2')!;
  const member = img.processes.find((p) => p.namespaces.uts === uts.id)!;
  inside(member.pid, ['-U', '-u', '--preserve-credentials'], ['hostname', 'renamed']);
  const { dir: b, img: second } = dumpToJson(t, topo.pid);
  const changed = second.namespaces.find((n) => n.type === 'uts' && (n.state as { hostname: string } | null)?.hostname === 'renamed')!;
  const dot = nsdump(['diff', a, b, '-f', 'dot']);
  t.is(dot.code, 1, dot.stderr);
  const line = dot.stdout.split('\n').find((l) => new RegExp(`^\\s*ns${changed.id} \\[`).test(l))!;
  t.regex(line, /fillcolor="#ffd9a8"/, 'the changed uts is orange');
  t.is(dot.stdout.split('\n').filter((l) => l.includes('fillcolor="#ffd9a8"')).length, 1, 'nothing else is');
  t.true(dot.stdout.includes('hostname \\"level2\\" → \\"renamed\\"'), 'the difference is in the legend');
  const svg = nsdump(['diff', a, b, '--format', 'svg']);
  t.is(svg.code, 1, svg.stderr);
  t.regex(svg.stdout, /<title>ns\d+<\/title>\n<path fill="#ffd9a8"/);
  const same = nsdump(['diff', a, a, '-f', 'dot']);
  t.is(same.code, 0);
  t.false(same.stdout.includes('#ffd9a8'));
});

test('the WebAssembly behind --format svg is not in the start-up path of the other commands', (t) => {
  // The CLI is one script (cli.cjs) that bin.ts runs; @viz-js/viz stays outside it, imported by
  // bin.ts only when svg.ts asks — never required, never imported by the entry itself.
  const bin = join(ROOT, 'dist', 'bin');
  const cli = readFileSync(join(bin, 'cli.cjs'), 'utf8');
  t.false(/require\(\s*["']@viz-js\/viz["']\s*\)/.test(cli), 'cli.cjs requires @viz-js/viz');
  t.false(cli.includes('import("@viz-js/viz")'), 'cli.cjs imports @viz-js/viz itself (a script cannot)');
  t.true(cli.includes(`__nsdumpImport("@viz-js/viz")`), 'cli.cjs asks bin.ts for @viz-js/viz');
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(bin, file), 'utf8');
    // Static imports only: `import{…}from"./chunk-X.js"` and `import"./chunk-X.js"`, not import().
    for (const m of text.matchAll(/(?:from|import)\s*"\.\/([^"]+)"/g)) walk(m[1]!);
  };
  walk('nsdump.js');
  for (const f of seen) t.false(/from\s*"@viz-js\/viz"/.test(readFileSync(join(bin, f), 'utf8')), `${f} loads Graphviz at start-up`);
});
