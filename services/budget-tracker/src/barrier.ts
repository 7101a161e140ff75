/**
 * Batches of different partitions apply concurrently (each slice is atomic, offsets are per partition);
 * sweeps and rebuilds run alone: they wait for the batches in flight and hold back new ones.
 */
export class BatchBarrier {
  private barrier: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();

  /** Runs `work` alone: after the batches in flight, holding back batches and other exclusive work. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.barrier.then(async () => {
      await Promise.allSettled([...this.inFlight]);
      return work();
    });
    this.barrier = run.catch(() => undefined);
    return run;
  }

  /** Runs `work` beside other shared work, once no exclusive work is queued ahead of it. */
  async shared<T>(work: () => Promise<T>): Promise<T> {
    let barrier: Promise<unknown>;
    do {
      barrier = this.barrier;
      await barrier;
    } while (barrier !== this.barrier);
    const run = work();
    this.inFlight.add(run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(run);
    }
  }
}
