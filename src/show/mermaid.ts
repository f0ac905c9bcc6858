// Why: Mermaid is the picture format that renders where people already write (Markdown on code
// forges, wikis). Image strings are data: every character Mermaid could read as syntax, markup or
// an entity is written as a Mermaid entity code, so a hostname "<script>" or '"]' stays text.
import type { Mark, PicBox, PicEdge, Picture } from './picture.js';

/** One line of a quoted Mermaid label: letters, digits and harmless punctuation as they are, the rest as "#NNN;". */
export function mermaidText(s: string): string {
  // (→ ↔ × written as escapes: a regular expression keeps what it is written with, and the bundle is ASCII.)
  return s.replace(/[^\p{L}\p{N} .,:/()=+@'\u2192\u2194\u00d7_-]/gu, (c) => `#${c.codePointAt(0)};`);
}

const label = (lines: string[]) => `"${lines.map(mermaidText).join('<br/>')}"`;

const CLASS_DEFS: Record<Mark | 'procs', string> = {
  plain: 'fill:#ffffff,stroke:#555555',
  own: 'fill:#eef4ff,stroke:#1f4fbf,stroke-width:2px',
  context: 'fill:#ffffff,stroke:#aaaaaa,stroke-dasharray:4 3,color:#777777',
  changed: 'fill:#ffd9a8,stroke:#c26a00,stroke-width:2px',
  extra: 'fill:#c9f2c9,stroke:#2e8b2e,stroke-width:2px',
  missing: 'fill:#ffc9c9,stroke:#b22222,stroke-width:2px',
  procs: 'fill:#fffbe6,stroke:#8a7a3a',
};

const LINK_STYLE: Record<PicEdge['kind'], string> = {
  member: 'stroke:#999999',
  'for-children': 'stroke:#999999,stroke-dasharray:4 3',
  parent: 'stroke:#1f4fbf,stroke-width:2px',
};

export function renderMermaid(p: Picture): string {
  const out = ['flowchart LR'];
  // Comments carry the title and legend for whoever reads the text; a line break in data cannot end one.
  for (const l of [p.title, ...p.legend]) out.push(`%% ${l.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')}`);
  const classes = new Map<string, string[]>();
  const klass = (cls: string, id: string) => (classes.get(cls) ?? classes.set(cls, []).get(cls)!).push(id);
  const box = (b: PicBox, indent: string) => {
    out.push(`${indent}subgraph ${b.id}[${label(b.lines)}]`);
    const inner = `${indent}  `;
    out.push(`${inner}direction LR`);
    for (const n of b.nodes) {
      out.push(`${inner}${n.id}[${label(n.lines)}]`);
      klass(n.kind === 'procs' && n.mark === 'plain' ? 'procs' : n.mark, n.id);
    }
    for (const c of b.boxes) box(c, inner);
    out.push(`${indent}end`);
    klass(b.kind === 'scope' ? 'own' : b.mark, b.id);
  };
  for (const b of p.boxes) box(b, '  ');
  p.edges.forEach((e) => out.push(`  ${e.from} ${e.kind === 'for-children' ? '-.->' : '-->'} ${e.to}`));
  for (const [cls, def] of Object.entries(CLASS_DEFS)) out.push(`  classDef ${cls} ${def}`);
  for (const [cls, ids] of classes) out.push(`  class ${ids.join(',')} ${cls}`);
  const byKind = new Map<PicEdge['kind'], number[]>();
  p.edges.forEach((e, i) => (byKind.get(e.kind) ?? byKind.set(e.kind, []).get(e.kind)!).push(i));
  for (const [kind, idx] of byKind) out.push(`  linkStyle ${idx.join(',')} ${LINK_STYLE[kind]}`);
  return `${out.join('\n')}\n`;
}
