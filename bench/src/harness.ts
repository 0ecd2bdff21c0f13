/**
 * Timing: each measurement is a number of runs; each run issues `ops` operations spread over
 * `inFlight` lanes (each lane awaits its own calls one after another), and records the wall time
 * per operation. The run size is calibrated from a warm-up so every backend runs for about the
 * same time, whatever its speed.
 */
import { performance } from 'node:perf_hooks';

export interface Stats {
  /** Milliseconds per operation: the median run, the fastest and the slowest. */
  median: number;
  min: number;
  max: number;
  /** Operations per second at the median. */
  opsPerSecond: number;
  runs: number;
  opsPerRun: number;
}

export interface MeasureOptions {
  runs: number;
  inFlight: number;
  /** Wall time one run should take, in ms; 0 = one operation per lane. */
  targetMs: number;
  maxOps: number;
}

/** One operation on one lane; `afterRun` tidies up outside the timed region (e.g. destroys new keys). */
export interface Operation {
  op(lane: number, index: number): Promise<unknown>;
  afterRun?(): Promise<void>;
}

async function runOnce(operation: Operation, inFlight: number, ops: number): Promise<number> {
  let next = 0;
  const lane = async (id: number): Promise<void> => {
    for (let i = next++; i < ops; i = next++) await operation.op(id, i);
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, id) => lane(id)));
  const elapsed = performance.now() - start;
  await operation.afterRun?.();
  return elapsed / ops;
}

/**
 * Measures several backends on the same case. Their runs alternate (A B C A B C …) so that a burst
 * of load from elsewhere on the machine lands on all of them rather than on one.
 */
export async function measureAll<K extends string>(operations: Map<K, Operation>, options: MeasureOptions): Promise<Map<K, Stats>> {
  const { inFlight, runs } = options;
  const sizes = new Map<K, number>();
  for (const [name, operation] of operations) {
    // Warm-up (JIT, key caches, lazy unsealing): batches that double until they take a third of a
    // run, so microsecond operations are compiled before they count; the last batch sizes the runs.
    let batch = inFlight;
    let warm = await runOnce(operation, inFlight, batch);
    while (options.targetMs > 0 && warm * batch < options.targetMs / 3 && batch < options.maxOps) {
      batch = Math.min(batch * 2, options.maxOps);
      warm = await runOnce(operation, inFlight, batch);
    }
    let ops = inFlight;
    if (options.targetMs > 0) {
      const wanted = Math.ceil(options.targetMs / Math.max(warm, 1e-3));
      ops = Math.ceil(Math.min(Math.max(wanted, inFlight), options.maxOps) / inFlight) * inFlight;
    }
    sizes.set(name, ops);
  }
  const perOp = new Map<K, number[]>([...operations.keys()].map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, operation] of operations) perOp.get(name)?.push(await runOnce(operation, inFlight, sizes.get(name) as number));
  }
  return new Map([...perOp].map(([name, times]) => [name, summarize(times, sizes.get(name) as number)]));
}

export function summarize(perOp: number[], opsPerRun: number): Stats {
  const sorted = [...perOp].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    opsPerSecond: 1000 / median,
    runs: sorted.length,
    opsPerRun,
  };
}

/** Time one async call, in ms. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}
