// Why: `nsdump show`: read and validate an image, print it as a tree, as JSON, or as a picture
// (DOT, Mermaid, SVG). The SVG renderer is imported only when asked for: it carries WebAssembly.
import { readImage } from '../image/read.js';
import type { NsType } from '../model/species.js';
import { renderDot } from '../show/dot.js';
import { renderMermaid } from '../show/mermaid.js';
import { buildParentPicture, buildPicture } from '../show/picture.js';
import { renderTree, type TreeKind } from '../show/tree.js';
import { UsageError } from './exit-codes.js';
import type { SHOW_FORMATS } from './options.js';

export type ShowFormat = (typeof SHOW_FORMATS)[number];

export interface ShowOptions {
  dir: string;
  format: ShowFormat;
  types?: NsType[];
  pid?: number;
  tree?: TreeKind;
}

export async function showCommand(opts: ShowOptions): Promise<number> {
  const img = readImage(opts.dir);
  const filter = { ...(opts.types ? { types: opts.types } : {}), ...(opts.pid === undefined ? {} : { pid: opts.pid }) };
  if (opts.format === 'json') {
    if (opts.types || opts.pid !== undefined || opts.tree) throw new UsageError('--json prints the whole image; -t, -p and --tree select what the other formats show');
    process.stdout.write(`${JSON.stringify(img, null, 2)}\n`);
  } else if (opts.format === 'text') process.stdout.write(renderTree(img, { ...filter, ...(opts.tree ? { tree: opts.tree } : {}) }));
  else {
    if (opts.tree === 'process') throw new UsageError('--tree process: pictures are drawn by owner (user namespaces as nested boxes) or by parent (user and pid trees); --tree process is a text view');
    const picture = opts.tree === 'parent' ? buildParentPicture(img, filter) : buildPicture(img, filter);
    if (opts.format === 'dot') process.stdout.write(renderDot(picture));
    else if (opts.format === 'mermaid') process.stdout.write(renderMermaid(picture));
    else {
      const { renderSvg } = await import('../show/svg.js');
      process.stdout.write(await renderSvg(picture));
    }
  }
  return 0;
}
