// The picture of an image: pure logic on recorded images (fixtures/replay), escaping on tables of
// hostile strings, and the DOT read back by the same Graphviz that draws the SVG.
import test from 'ava';
import { instance } from '@viz-js/viz';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateOf, Image } from '../../src/model/image.js';
import { dotText, renderDot } from '../../src/show/dot.js';
import { mermaidText, renderMermaid } from '../../src/show/mermaid.js';
import { buildParentPicture, buildPicture, drawnNamespaces } from '../../src/show/picture.js';
import { select } from '../../src/show/select.js';
import { renderTree } from '../../src/show/tree.js';
import { ROOT } from '../helpers/paths.js';

const load = (name: string) => Image.parse(JSON.parse(readFileSync(join(ROOT, 'fixtures', 'replay', `${name}.json`), 'utf8')));
const FIXTURES = ['bwrap-shape', 'bwrapbwrap', 'exec-chain', 'holders', 'map-user-1000', 'root-below-uid1000', 'time-for-children', 'uts-owned-by-ancestor'];

/** Graphviz's own reading of a DOT text: node names, and cluster names with their nesting. */
async function parseDot(dot: string) {
  const viz = await instance();
  const g = viz.renderJSON(dot) as { objects?: { name: string; nodes?: number[]; subgraphs?: number[] }[]; edges?: unknown[] };
  const objects = g.objects ?? [];
  return { clusters: objects.filter((o) => o.name.startsWith('cluster')), nodes: objects.filter((o) => !o.name.startsWith('cluster')), edges: g.edges ?? [], objects };
}

for (const name of FIXTURES) {
  test(`${name}: every namespace is drawn exactly once, and Graphviz reads the DOT back so`, async (t) => {
    const img = load(name);
    const pic = buildPicture(img);
    t.deepEqual(drawnNamespaces(pic).sort((a, b) => a - b), img.namespaces.map((n) => n.id));
    const g = await parseDot(renderDot(pic));
    for (const n of img.namespaces) {
      const want = n.type === 'user' ? `cluster_ns${n.id}` : `ns${n.id}`;
      t.is(g.objects.filter((o) => o.name === want).length, 1, `${n.type}#${n.id} once`);
    }
    // Every process appears in exactly one group node.
    const groupText = g.nodes.filter((o) => o.name.startsWith('set')).map((o) => (o as { label?: string }).label ?? '').join('\n');
    for (const p of img.processes) t.regex(groupText, new RegExp(`(^|[ ,]|\\\\l)${p.pid} `), `pid ${p.pid} in a group`);
    // A user namespace's box sits in its parent's box.
    const byName = new Map(g.objects.map((o, i) => [o.name, i]));
    for (const n of img.namespaces.filter((x) => x.type === 'user' && x.parent !== null)) {
      const parent = g.objects[byName.get(`cluster_ns${n.parent}`)!]!;
      t.true(parent.subgraphs?.includes(byName.get(`cluster_ns${n.id}`)! as number), `user#${n.id} inside user#${n.parent}`);
    }
  });
}

for (const name of FIXTURES) {
  test(`${name}: --tree parent draws user and pid namespaces as parent → child trees, each namespace once, read back by Graphviz`, async (t) => {
    const img = load(name);
    const pic = buildParentPicture(img);
    t.deepEqual(drawnNamespaces(pic).sort((a, b) => a - b), img.namespaces.map((n) => n.id));
    const dot = renderDot(pic);
    const g = await parseDot(dot);
    for (const n of img.namespaces) t.is(g.objects.filter((o) => o.name === `ns${n.id}`).length, 1, `${n.type}#${n.id} once`);
    const edges = new Set(pic.edges.map((e) => `${e.from}>${e.to}:${e.kind}`));
    t.is(g.edges.length, pic.edges.length, 'Graphviz reads every edge');
    for (const n of img.namespaces) {
      if (n.type === 'user' || n.type === 'pid') t.is(edges.has(`ns${n.parent}>ns${n.id}:parent`), n.parent !== null, `${n.type}#${n.id} under its parent`);
      else t.false(pic.edges.some((e) => e.to === `ns${n.id}`), `${n.type}#${n.id}: no edge, named in labels`);
    }
    // Every process is in exactly one group, and that group points at its user and pid namespaces.
    const groups = pic.boxes[0]!.nodes.filter((x) => x.kind === 'procs');
    for (const p of img.processes) {
      const mine = groups.filter((x) => x.lines.some((l) => new RegExp(`(^|, )${p.pid} `).test(l)));
      t.is(mine.length, 1, `pid ${p.pid} in one group`);
      for (const l of ['user', 'pid'] as const) t.true(edges.has(`${mine[0]!.id}>ns${p.namespaces[l]}:member`), `pid ${p.pid} → its ${l} namespace`);
      for (const l of ['uts', 'net'] as const) t.true(mine[0]!.lines.join(' ').includes(`${l}#${p.namespaces[l]}`), `pid ${p.pid} names its ${l} namespace`);
    }
    t.notThrows(() => renderMermaid(pic));
  });
}

test('--tree parent with -t uts: uts namespaces and the user namespaces that place them, no pid tree', (t) => {
  const img = load('bwrapbwrap');
  const pic = buildParentPicture(img, { types: ['uts'] });
  const drawn = drawnNamespaces(pic).map((id) => img.namespaces[id - 1]!.type);
  t.true(drawn.includes('uts'));
  t.false(drawn.includes('pid'));
  t.true(pic.edges.every((e) => e.kind !== 'parent' || /^ns\d+$/.test(e.from)));
});

test('-t keeps the namespaces of that type and the user namespaces that own them as context', (t) => {
  const img = load('bwrapbwrap');
  const sel = select(img, { types: ['uts'] });
  const uts = img.namespaces.filter((n) => n.type === 'uts').map((n) => n.id);
  t.deepEqual([...sel.shown].sort(), uts.sort());
  for (const id of sel.context) t.is(img.namespaces[id - 1]!.type, 'user');
  t.deepEqual(sel.links, ['uts']);
  const tree = renderTree(img, { types: ['uts'] });
  t.false(/\bpid#\d+ \[/.test(tree), 'no pid namespace listed');
  t.regex(tree, /uts#\d+ \[/);
});

test('-p keeps one process, its namespaces and their owner and parent chains', (t) => {
  const img = load('bwrapbwrap');
  const p = img.processes[img.processes.length - 1]!;
  const sel = select(img, { pid: p.pid });
  t.deepEqual(sel.processes, [p]);
  for (const id of Object.values(p.namespaces)) if (id !== null) t.true(sel.shown.has(id));
  for (const id of sel.shown) {
    const n = img.namespaces[id - 1]!;
    if (n.owner !== null) t.true(sel.shown.has(n.owner), `owner of ${n.type}#${n.id}`);
    if (n.parent !== null) t.true(sel.shown.has(n.parent), `parent of ${n.type}#${n.id}`);
  }
  t.throws(() => select(img, { pid: 999_999_999 }), { name: 'SelectionError', message: /-p 999999999: no process of the image/ });
});

test('--tree parent nests pid namespaces under their parents; --tree process follows ppid', (t) => {
  const img = load('bwrapbwrap');
  const parent = renderTree(img, { tree: 'parent' }).split('\n');
  for (const n of img.namespaces.filter((x) => x.type === 'pid' && x.parent !== null)) {
    const i = parent.findIndex((l) => l.includes(`pid#${n.id} [`));
    const j = parent.findIndex((l) => l.includes(`pid#${n.parent} [`));
    t.true(j >= 0 && j < i && parent[i]!.search(/pid#/) > parent[j]!.search(/pid#/), `pid#${n.id} below pid#${n.parent}`);
  }
  const proc = renderTree(img, { tree: 'process' }).split('\n');
  for (const p of img.processes) {
    const i = proc.findIndex((l) => new RegExp(`[─ ]${p.pid} |^${p.pid} `).test(l));
    t.true(i > 0, `pid ${p.pid} listed`);
    const j = proc.findIndex((l) => new RegExp(`[─ ]${p.ppid} |^${p.ppid} `).test(l));
    if (img.processes.some((q) => q.pid === p.ppid)) t.true(j >= 0 && j < i && proc[i]!.search(/\d/) > proc[j]!.search(/\d/), `${p.pid} below ${p.ppid}`);
  }
});

const HOSTILE = ['<script>alert(1)</script>', '"];x[label="pwned', 'a\\lb\\nc', '&lt;b&gt;', 'x}; subgraph y {', 'end', 'a#35;b', 'line\nbreak', '%%{init: {}}%%', '`**md**`', 'é→ü'];

test('DOT: hostile strings stay one label and come back from Graphviz as the same text', async (t) => {
  const viz = await instance();
  for (const s of HOSTILE) {
    const dot = `digraph { a [label="${dotText(s)}"]; }`;
    const g = viz.renderJSON(dot) as { objects: { name: string; label: string }[] };
    t.is(g.objects.length, 1, s);
    // Graphviz keeps the escaped form as the attribute; in its SVG output that is the text itself.
    const svg = viz.renderString(dot, { format: 'svg' });
    const text = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!).join('');
    const decoded = text.replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    t.is(decoded, s.replace(/\n/g, '\\u000a'), `${JSON.stringify(s)} renders as itself`);
    t.false(/<script|<img/i.test(svg));
  }
});

test('Mermaid: hostile strings become entity codes, nothing Mermaid reads as syntax', (t) => {
  for (const s of HOSTILE) {
    const m = mermaidText(s);
    t.false(/["<>\[\]{}|`;\\\n%]/.test(m.replace(/#\d+;/g, '')), `${JSON.stringify(s)} → ${m}`);
    t.is(m.replace(/#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))), s);
  }
});

test('a hostile hostname in an image stays data in DOT and Mermaid', async (t) => {
  const img = load('uts-owned-by-ancestor');
  const uts = img.namespaces.find((n) => n.type === 'uts' && !n.inScope)!;
  stateOf(uts, 'uts').hostname = '"]; evil [label="<script>x</script>';
  const pic = buildPicture(img);
  const g = await parseDot(renderDot(pic));
  t.is(g.objects.filter((o) => o.name === 'evil').length, 0);
  t.is(g.nodes.filter((o) => o.name === `ns${uts.id}`).length, 1);
  const mmd = renderMermaid(pic);
  t.false(mmd.includes('<script>'));
  t.false(/\bevil \[/.test(mmd));
});
