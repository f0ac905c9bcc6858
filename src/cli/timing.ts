// Why: NSDUMP_TIMING=1 makes dump and restore say where their time went (ms; the first figure is
// from process start, so it includes Node's own start-up) — what the benchmarks' breakdowns quote.
export interface StageTimer {
  /** Close the stage that ends now. */
  mark(stage: string): void;
  /** One line on stderr, if NSDUMP_TIMING is set. */
  report(command: string): void;
}

export function stageTimer(): StageTimer {
  const timing: string[] = [`start ${performance.now().toFixed(0)}`];
  let last = performance.now();
  return {
    mark(stage) {
      const now = performance.now();
      timing.push(`${stage} ${(now - last).toFixed(0)}`);
      last = now;
    },
    report(command) {
      if (process.env.NSDUMP_TIMING) process.stderr.write(`nsdump: ${command} timing (ms): ${timing.join(', ')}, total ${performance.now().toFixed(0)}\n`);
    },
  };
}
