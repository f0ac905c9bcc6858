// Why: colour refinement (1-WL) is the whole speed of `diff`: an ordered partition of the union's
// vertices, split until every vertex of a cell has the same number of neighbours, per edge label
// and direction, in every cell. Splits go by counts against one splitter cell at a time (never
// vertex against vertex), and of a cell's fragments all but the largest become splitters
// (Hopcroft), so a refinement costs O(edges · log vertices). Every split is recorded on a trail,
// so the search can undo what an individualisation refined.
import type { Budget } from './budget.js';
import type { Union } from './union.js';

export class Partition {
  /** The vertices, cell after cell; a cell is named by the index of its first position. */
  readonly elems: Int32Array;
  private readonly pos: Int32Array;
  /** Vertex → the start of its cell. */
  readonly cellOf: Int32Array;
  /** Cell start → number of vertices; and how many of them are from the first graph. */
  readonly size: Int32Array;
  readonly side1: Int32Array;
  /** Pairs (cell, fragment split off it), undone last first. */
  private readonly trail: number[] = [];
  private readonly queue: Int32Array;
  private qHead = 0;
  private qLen = 0;
  private readonly queued: Uint8Array;
  /** Per vertex, its neighbours in the splitter; per cell, how many of its vertices have some. */
  private readonly count: Int32Array;
  private readonly touchedIn: Int32Array;
  private touchedCells: number[] = [];
  private readonly splitter: Int32Array;
  private pops = 0;

  /** The partition by `colour` (vertices of equal colour share a cell), every cell a splitter. */
  constructor(
    private readonly u: Union,
    colour: ArrayLike<number>,
    private readonly budget: Budget | null,
  ) {
    const n = u.n;
    this.elems = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => colour[a]! - colour[b]! || a - b);
    this.pos = new Int32Array(n);
    this.cellOf = new Int32Array(n);
    this.size = new Int32Array(n);
    this.side1 = new Int32Array(n);
    this.queue = new Int32Array(n);
    this.queued = new Uint8Array(n);
    this.count = new Int32Array(n);
    this.touchedIn = new Int32Array(n);
    this.splitter = new Int32Array(n);
    let start = 0;
    for (let i = 0; i < n; i++) {
      const v = this.elems[i]!;
      if (i > 0 && colour[v] !== colour[this.elems[i - 1]!]) {
        this.push(start);
        start = i;
      }
      this.pos[v] = i;
      this.cellOf[v] = start;
      this.size[start]!++;
      if (v < u.n1) this.side1[start]!++;
    }
    if (n > 0) this.push(start);
  }

  /** A mark to undo to: every split made after it. */
  mark(): number {
    return this.trail.length;
  }

  undo(mark: number): void {
    while (this.trail.length > mark) {
      const part = this.trail.pop()!;
      const cell = this.trail.pop()!;
      for (let i = part; i < part + this.size[part]!; i++) this.cellOf[this.elems[i]!] = cell;
      this.size[cell]! += this.size[part]!;
      this.side1[cell]! += this.side1[part]!;
    }
  }

  /** Whether every cell holds as many vertices of the first graph as of the second. */
  balanced(): boolean {
    for (let s = 0; s < this.u.n; s += this.size[s]!) if (this.side1[s]! * 2 !== this.size[s]) return false;
    return true;
  }

  /**
   * Split until equitable. With `abort`, stop at the first cell whose sides differ in number and
   * answer false: no isomorphism extends the current individualisations.
   */
  refine(abort: boolean): boolean {
    let ok = true;
    const { out, inStart, inList, labels } = this.u;
    while (this.qLen > 0) {
      if (this.budget && (++this.pops & 63) === 0) this.budget.check();
      const w = this.pop();
      const len = this.size[w]!;
      this.splitter.set(this.elems.subarray(w, w + len));
      for (const l of labels) {
        // Vertices whose l-edge leads into the splitter …
        const start = inStart[l]!;
        const list = inList[l]!;
        for (let i = 0; i < len; i++) {
          const x = this.splitter[i]!;
          for (let k = start[x]!; k < start[x + 1]!; k++) this.touch(list[k]!);
        }
        ok = this.splitTouched() && ok;
        // … and vertices the splitter's l-edges lead to.
        const o = out[l]!;
        for (let i = 0; i < len; i++) {
          const t = o[this.splitter[i]!]!;
          if (t >= 0) this.touch(t);
        }
        ok = this.splitTouched() && ok;
        if (!ok && abort) {
          this.clearQueue();
          return false;
        }
      }
    }
    return ok;
  }

  /** Give v (first graph) and w (second graph), of one cell, a cell of their own, and refine from it. */
  individualise(v: number, w: number): void {
    const cell = this.cellOf[v]!;
    if (this.cellOf[w] !== cell) throw new Error('diff: internal: individualising vertices of different cells');
    if (this.size[cell] === 2) return;
    const end = cell + this.size[cell]!;
    this.moveTo(v, end - 1);
    this.moveTo(w, end - 2);
    this.fragment(cell, [end - 2]);
  }

  /** The pairs of a partition whose cells hold one vertex of each side: first-graph vertex → second. */
  pairs(): Map<number, number> {
    const pairs = new Map<number, number>();
    for (let s = 0; s < this.u.n; s += this.size[s]!) {
      if (this.size[s] !== 2 || this.side1[s] !== 1) continue;
      const [a, b] = [this.elems[s]!, this.elems[s + 1]!];
      if (a < b) pairs.set(a, b);
      else pairs.set(b, a);
    }
    return pairs;
  }

  /** The cell's vertices of the first graph (or of the second), in cell order. */
  members(cell: number, first: boolean): number[] {
    const out: number[] = [];
    for (let i = cell; i < cell + this.size[cell]!; i++) {
      const v = this.elems[i]!;
      if (v < this.u.n1 === first) out.push(v);
    }
    return out;
  }

  /** Count one more splitter neighbour of v, moving v to the touched end of its cell on the first. */
  private touch(v: number): void {
    const cell = this.cellOf[v]!;
    if (this.size[cell] === 1) return;
    if (this.count[v]!++ > 0) return;
    const t = this.touchedIn[cell]!++;
    if (t === 0) this.touchedCells.push(cell);
    this.moveTo(v, cell + this.size[cell]! - 1 - t);
  }

  /** Split every touched cell by its vertices' counts; false if a fragment is unbalanced. */
  private splitTouched(): boolean {
    let ok = true;
    for (const cell of this.touchedCells) {
      const t = this.touchedIn[cell]!;
      this.touchedIn[cell] = 0;
      const end = cell + this.size[cell]!;
      const from = end - t;
      this.sortByCount(from, end);
      const cuts: number[] = from > cell ? [from] : [];
      for (let i = from + 1; i < end; i++) if (this.count[this.elems[i]!] !== this.count[this.elems[i - 1]!]) cuts.push(i);
      for (let i = from; i < end; i++) this.count[this.elems[i]!] = 0;
      if (cuts.length) ok = this.fragment(cell, cuts) && ok;
    }
    this.touchedCells = [];
    return ok;
  }

  private sortByCount(from: number, end: number): void {
    let same = true;
    for (let i = from + 1; i < end && same; i++) same = this.count[this.elems[i]!] === this.count[this.elems[i - 1]!];
    if (same) return;
    const block = Array.from(this.elems.subarray(from, end)).sort((a, b) => this.count[a]! - this.count[b]!);
    block.forEach((v, i) => {
      this.elems[from + i] = v;
      this.pos[v] = from + i;
    });
  }

  /**
   * Cut a cell at the given ascending positions. Cut from the end so that undoing, last first,
   * always merges a fragment into the cell right before it. New splitters: every fragment if the
   * cell was waiting to be one, else all but the largest (its counts follow from the others').
   */
  private fragment(cell: number, cuts: number[]): boolean {
    const wasQueued = this.queued[cell] === 1;
    for (let k = cuts.length - 1; k >= 0; k--) this.splitOff(cell, cuts[k]!);
    const parts = [cell, ...cuts];
    let largest = cell;
    for (const p of parts) if (this.size[p]! > this.size[largest]!) largest = p;
    let ok = true;
    for (const p of parts) {
      if (this.side1[p]! * 2 !== this.size[p]) ok = false;
      if (wasQueued || p !== largest) this.push(p);
    }
    return ok;
  }

  private splitOff(cell: number, at: number): void {
    const end = cell + this.size[cell]!;
    let first = 0;
    for (let i = at; i < end; i++) {
      const v = this.elems[i]!;
      this.cellOf[v] = at;
      if (v < this.u.n1) first++;
    }
    this.size[at] = end - at;
    this.size[cell] = at - cell;
    this.side1[at] = first;
    this.side1[cell]! -= first;
    this.trail.push(cell, at);
  }

  private moveTo(v: number, i: number): void {
    const j = this.pos[v]!;
    const x = this.elems[i]!;
    this.elems[i] = v;
    this.pos[v] = i;
    this.elems[j] = x;
    this.pos[x] = j;
  }

  private push(cell: number): void {
    if (this.queued[cell]) return;
    this.queued[cell] = 1;
    this.queue[(this.qHead + this.qLen++) % this.queue.length] = cell;
  }

  private pop(): number {
    const cell = this.queue[this.qHead]!;
    this.qHead = (this.qHead + 1) % this.queue.length;
    this.qLen--;
    this.queued[cell] = 0;
    return cell;
  }

  private clearQueue(): void {
    while (this.qLen > 0) this.pop();
  }
}
