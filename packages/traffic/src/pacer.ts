/**
 * Rate control: how many events are due at a time, given a target rate since the start. Pure (the clock is
 * passed in), so it is unit-tested without waiting. A run that falls behind (a slow broker) catches up by at
 * most `maxCatchUpMs` worth of events at once instead of bursting everything it missed.
 */
export class Pacer {
  private originMs: number;
  private released = 0;

  constructor(
    readonly ratePerSecond: number,
    startMs: number,
    private readonly maxCatchUpMs = 1_000,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError(`rate must be positive: ${ratePerSecond}`);
    this.originMs = startMs;
  }

  /** Events that may be sent now (and are counted as released). */
  take(nowMs: number, limit = Number.POSITIVE_INFINITY): number {
    let due = Math.floor(((nowMs - this.originMs) * this.ratePerSecond) / 1_000) - this.released;
    const cap = Math.max(1, Math.floor((this.maxCatchUpMs * this.ratePerSecond) / 1_000));
    if (due > cap) {
      // Forget the backlog beyond the cap: move the origin so the schedule continues from now.
      this.originMs += ((due - cap) * 1_000) / this.ratePerSecond;
      due = cap;
    }
    const granted = Math.max(0, Math.min(due, limit));
    this.released += granted;
    return granted;
  }

  /** Milliseconds until the next event is due (0 when one is due now). */
  delayUntilNext(nowMs: number): number {
    const nextAtMs = this.originMs + ((this.released + 1) * 1_000) / this.ratePerSecond;
    return Math.max(0, Math.ceil(nextAtMs - nowMs));
  }

  /** The wait between two pacing steps: small enough for a smooth rate, large enough to batch at high rates. */
  tickMs(nowMs: number): number {
    return Math.min(100, Math.max(5, this.delayUntilNext(nowMs)));
  }
}
