// Why: `--format svg` without a system Graphviz: the DOT picture laid out in-process by Graphviz
// compiled to WebAssembly (@viz-js/viz). It is imported here only, and this module is imported
// only when SVG is asked for, so no other command loads the ~1 MB of WebAssembly.
import type { Picture } from './picture.js';
import { renderDot } from './dot.js';

/** Lay out a DOT text with Graphviz's dot engine; the SVG text, or an Error with Graphviz's own messages. */
export async function dotToSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const r = viz.render(dot, { format: 'svg', engine: 'dot' });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ') || 'layout failed'}`);
  return r.output;
}

export async function renderSvg(p: Picture): Promise<string> {
  return dotToSvg(renderDot(p));
}
