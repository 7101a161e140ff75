import type { ServiceChild } from "./children.js";

export interface RssSample {
  readonly atMs: number;
  readonly label: string;
  readonly kib: number;
}

/** Samples VmRSS (/proc/<pid>/status) of each child every `everyMs`. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly children: () => readonly ServiceChild[],
    private readonly everyMs: number,
  ) {}

  start(): this {
    const sample = () => {
      for (const child of this.children()) {
        const kib = child.rssKiB();
        if (kib !== null) this.samples.push({ atMs: Date.now(), label: child.label, kib });
      }
    };
    sample();
    this.timer = setInterval(sample, this.everyMs);
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

export interface RssTrend {
  readonly samples: number;
  readonly firstMiB: number;
  readonly lastMiB: number;
  readonly maxMiB: number;
  /** Least-squares slope over the samples after the warm-up, MiB per minute. */
  readonly slopeMiBPerMinute: number;
  /** Median of the last quarter of the samples minus the median of the first quarter (robust to GC saw-teeth). */
  readonly growthMiB: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const MIB = 1_024;

/** Per process: first/last/max RSS and the least-squares slope of the samples taken after `fromMs`. */
export function rssTrends(samples: readonly RssSample[], fromMs: number): Record<string, RssTrend> {
  const byLabel = new Map<string, RssSample[]>();
  for (const s of samples) if (s.atMs >= fromMs) byLabel.set(s.label, [...(byLabel.get(s.label) ?? []), s]);
  const out: Record<string, RssTrend> = {};
  for (const [label, list] of byLabel) {
    if (list.length < 3) continue;
    const xs = list.map((s) => (s.atMs - fromMs) / 60_000);
    const ys = list.map((s) => s.kib / MIB);
    const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
    const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
    let numerator = 0;
    let denominator = 0;
    xs.forEach((x, i) => {
      numerator += (x - meanX) * ((ys[i] ?? 0) - meanY);
      denominator += (x - meanX) ** 2;
    });
    const round = (n: number) => Math.round(n * 100) / 100;
    out[label] = {
      samples: list.length,
      firstMiB: round(ys[0] ?? 0),
      lastMiB: round(ys.at(-1) ?? 0),
      maxMiB: round(Math.max(...ys)),
      slopeMiBPerMinute: round(denominator === 0 ? 0 : numerator / denominator),
      growthMiB: round(
        median(ys.slice(-Math.ceil(ys.length / 4))) - median(ys.slice(0, Math.ceil(ys.length / 4))),
      ),
    };
  }
  return out;
}
