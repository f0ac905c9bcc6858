// Why: Graphviz DOT is the picture format other tools read (dot, xdot, Gephi) and the one nsdump
// renders to SVG itself. Every image string is data: it is escaped so that no hostname, comm or
// path can end a label, start an attribute or be read as an escape or an entity by Graphviz.
import type { Mark, PicBox, PicEdge, PicNode, Picture } from './picture.js';

/**
 * One line of text inside a DOT double-quoted label. Backslash and quote are escaped for DOT;
 * '&' becomes "&amp;" because Graphviz passes entity references in labels through to SVG (a
 * hostname "&lt;b&gt;" would otherwise show as "<b>"); control characters are shown by code.
 */
export function dotText(s: string): string {
  return s
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"');
}

/** Lines as one left-justified DOT label ("\l" ends each line). */
const label = (lines: string[]) => `"${lines.map((l) => `${dotText(l)}\\l`).join('')}"`;

const NODE_STYLE: Record<Mark, string> = {
  plain: 'fillcolor="#ffffff", color="#555555"',
  own: 'fillcolor="#eef4ff", color="#1f4fbf", penwidth=2',
  context: 'fillcolor="#ffffff", color="#aaaaaa", fontcolor="#777777", style="rounded,dashed"',
  changed: 'fillcolor="#ffd9a8", color="#c26a00", penwidth=2',
  extra: 'fillcolor="#c9f2c9", color="#2e8b2e", penwidth=2',
  missing: 'fillcolor="#ffc9c9", color="#b22222", penwidth=2',
};

const BOX_STYLE: Record<Mark, string> = {
  plain: 'color="#555555", bgcolor="#fafafa", style=rounded',
  own: 'color="#1f4fbf", bgcolor="#f5f8ff", penwidth=2, style=rounded',
  context: 'color="#aaaaaa", fontcolor="#777777", style="rounded,dashed"',
  changed: 'color="#c26a00", bgcolor="#fff3e3", penwidth=2, style=rounded',
  extra: 'color="#2e8b2e", bgcolor="#ecfbec", penwidth=2, style=rounded',
  missing: 'color="#b22222", bgcolor="#fff0f0", penwidth=2, style=rounded',
};

const EDGE_STYLE: Record<PicEdge['kind'], string> = {
  member: 'color="#999999"',
  'for-children': 'color="#999999", style=dashed',
  parent: 'color="#1f4fbf", penwidth=1.5',
};

function node(n: PicNode, indent: string): string {
  const shape = n.kind === 'procs' ? 'shape=note' : 'shape=box';
  return `${indent}${n.id} [${shape}, label=${label(n.lines)}, ${NODE_STYLE[n.mark]}];`;
}

function box(b: PicBox, indent: string): string[] {
  const style = b.kind === 'scope' ? 'color="#1f4fbf", style="dashed,bold", bgcolor="#ffffff"' : b.kind === 'orphans' ? 'color="#888888", style="rounded,dotted"' : BOX_STYLE[b.mark];
  const inner = `${indent}  `;
  return [
    `${indent}subgraph ${b.id} {`,
    `${inner}label=${label(b.lines)}; ${style.replace(/, /g, '; ')};`,
    ...b.nodes.map((n) => node(n, inner)),
    ...b.boxes.flatMap((c) => box(c, inner)),
    `${indent}}`,
  ];
}

export function renderDot(p: Picture): string {
  return [
    'digraph nsdump {',
    `  graph [rankdir=LR, compound=true, newrank=true, nodesep=0.12, ranksep=0.35, fontname="Helvetica", fontsize=10, labelloc=t, labeljust=l, style=rounded, label=${label([p.title, ...p.legend])}];`,
    '  node [style="rounded,filled", fontname="Helvetica", fontsize=9, margin="0.08,0.04"];',
    '  edge [arrowsize=0.6];',
    ...p.boxes.flatMap((b) => box(b, '  ')),
    ...p.edges.map((e) => `  ${e.from} -> ${e.to} [${EDGE_STYLE[e.kind]}];`),
    '}',
    '',
  ].join('\n');
}
