import { lagOf, type Pipeline } from "./pipeline.js";

export interface LagSample {
  readonly atMs: number;
  readonly ingestor: number | null;
  readonly tracker: number | null;
}

/** Samples both paths' lag (records behind the topic end) every `everyMs` while a scenario runs. */
export class LagMonitor {
  readonly samples: LagSample[] = [];
  readonly max = { ingestor: 0, tracker: 0 };
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly everyMs = 1_000,
  ) {}

  start(): this {
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    return this;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const progress = await this.pipeline.progress();
      const sample = {
        atMs: Date.now(),
        ingestor: lagOf(progress, "ingestor"),
        tracker: lagOf(progress, "tracker"),
      };
      this.samples.push(sample);
      if (sample.ingestor !== null) this.max.ingestor = Math.max(this.max.ingestor, sample.ingestor);
      if (sample.tracker !== null) this.max.tracker = Math.max(this.max.tracker, sample.tracker);
    } catch {
      // The broker is down (scenario 4): no topic ends, no sample.
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
