/** Median, min and max of a figure's runs (every figure of the report is summarised this way). */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

export function summarize(runs: readonly number[]): Summary {
  if (runs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [] };
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: [...runs] };
}

/** Nearest-rank quantile of ascending values (q in [0, 1]); NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** p50/p95/p99/max of latency samples (any unit); sorts a copy. */
export function latencySummary(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

/** A growable pair of Float64 columns (timestamp, value) that does not allocate per sample. */
export class SampleBuffer {
  private times = new Float64Array(1 << 16);
  private values = new Float64Array(1 << 16);
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(timeMs: number, value: number): void {
    if (this.size === this.times.length) {
      const times = new Float64Array(this.size * 2);
      times.set(this.times);
      this.times = times;
      const values = new Float64Array(this.size * 2);
      values.set(this.values);
      this.values = values;
    }
    this.times[this.size] = timeMs;
    this.values[this.size] = value;
    this.size += 1;
  }

  clear(): void {
    this.size = 0;
  }

  /** Values whose time lies in [fromMs, toMs). */
  valuesBetween(fromMs: number, toMs: number): Float64Array {
    let count = 0;
    for (let i = 0; i < this.size; i++) {
      const t = this.times[i] as number;
      if (t >= fromMs && t < toMs) count++;
    }
    const out = new Float64Array(count);
    let at = 0;
    for (let i = 0; i < this.size; i++) {
      const t = this.times[i] as number;
      if (t >= fromMs && t < toMs) out[at++] = this.values[i] as number;
    }
    return out;
  }
}
