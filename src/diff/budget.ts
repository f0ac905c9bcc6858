// Why: graph isomorphism has no known fast algorithm for every input, so the search runs against a
// clock; when the clock runs out `diff` says "undecided" instead of guessing.
import { performance } from 'node:perf_hooks';

/** Thrown through the search when the bound is reached; caught once, in compare.ts. */
export class TimeBound extends Error {
  override readonly name = 'TimeBound';
}

export class Budget {
  /** Search nodes visited (one per individualisation tried), for the "undecided" message. */
  nodes = 0;
  private readonly deadline: number;

  constructor(readonly ms: number) {
    this.deadline = performance.now() + ms;
  }

  /** Throws TimeBound once the bound is reached. */
  check(): void {
    if (performance.now() >= this.deadline) throw new TimeBound(`the search for an isomorphism hit its time bound (${this.ms} ms)`);
  }
}
