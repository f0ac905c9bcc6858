// Why: `show -t TYPE` and `-p PID` pick part of an image the way lsns does, and every view (the
// text tree, DOT, Mermaid, SVG) must show the same part: one place decides what is in it.
import type { Image, Namespace, Process } from '../model/image.js';
import { NS_LINKS, NS_TYPES, linkType, type NsLink, type NsType } from '../model/species.js';

export interface Filter {
  /** lsns -t: only namespaces of these types (the user namespaces that own them stay as context). */
  types?: readonly NsType[];
  /** lsns -p: only the namespaces of this process, their owners and parents, and the process itself. */
  pid?: number;
}

export interface Selection {
  /** Image ids of the namespaces shown for themselves. */
  shown: Set<number>;
  /** Image ids of user namespaces shown only because they own or are an ancestor of a shown one. */
  context: Set<number>;
  /** Processes shown, in image order. */
  processes: Process[];
  /** The links a process group is keyed by: those of the selected types. */
  links: readonly NsLink[];
}

export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

/** Everything, or the part `filter` names. Throws SelectionError when -p names no process of the image. */
export function select(img: Image, filter: Filter = {}): Selection {
  const byId = new Map(img.namespaces.map((n) => [n.id, n]));
  const types = new Set<NsType>(filter.types?.length ? filter.types : NS_TYPES);
  let candidates: Namespace[] = img.namespaces;
  let processes = img.processes;
  if (filter.pid !== undefined) {
    const p = img.processes.find((x) => x.pid === filter.pid);
    if (!p) throw new SelectionError(`-p ${filter.pid}: no process of the image has this pid (the image has ${img.processes.length})`);
    processes = [p];
    const ids = new Set<number>();
    // Its namespaces, then up the owner and parent chains: what a person needs to place them.
    const todo = NS_LINKS.map((l) => p.namespaces[l]).filter((x): x is number => x !== null);
    while (todo.length) {
      const id = todo.pop()!;
      if (ids.has(id)) continue;
      ids.add(id);
      const n = byId.get(id);
      if (n?.owner != null) todo.push(n.owner);
      if (n?.parent != null) todo.push(n.parent);
    }
    candidates = img.namespaces.filter((n) => ids.has(n.id));
  }
  const shown = new Set(candidates.filter((n) => types.has(n.type)).map((n) => n.id));
  const context = new Set<number>();
  for (const id of shown) {
    const n = byId.get(id)!;
    for (let u = n.type === 'user' ? byId.get(n.parent ?? 0) : byId.get(n.owner ?? 0); u; u = byId.get(u.parent ?? 0)) {
      if (!shown.has(u.id)) context.add(u.id);
    }
  }
  const links = NS_LINKS.filter((l) => types.has(linkType(l)));
  return { shown, context, processes, links };
}

/** Parse `-t` values (repeatable, comma-separated like lsns accepts one at a time). */
export function parseTypes(values: readonly string[] | undefined): NsType[] | undefined {
  if (!values?.length) return undefined;
  const out: NsType[] = [];
  for (const v of values.flatMap((x) => String(x).split(','))) {
    if (!(NS_TYPES as readonly string[]).includes(v)) throw new SelectionError(`-t ${v}: not a namespace type (one of ${NS_TYPES.join(', ')})`);
    if (!out.includes(v as NsType)) out.push(v as NsType);
  }
  return out;
}
