import cliProgress from "cli-progress";
import type { ProgressMode } from "./options.js";
import { averageRate, formatCount, formatKinds, type SimulationStats } from "./stats.js";

// cli-progress is CommonJS: Node's ESM loader exposes only its default export.
const { Format, SingleBar } = cliProgress;
type SingleBar = InstanceType<typeof cliProgress.SingleBar>;

/**
 * Shows a run's progress: one updating bar on a terminal, otherwise one summary line a minute (logs, CI, the
 * supervisor's prefixed output).
 */
export interface ProgressReporter {
  update(stats: SimulationStats): void;
  stop(stats: SimulationStats): void;
}

export interface ProgressOptions {
  mode: ProgressMode;
  /** Known total of events (--count), for the bar's percentage and ETA. */
  total: number | undefined;
  /** Known run time (--duration), when there is no count. */
  durationMs: number | undefined;
  stream?: NodeJS.WriteStream;
  /** One summary line per this interval. Default a minute: progress must not bury the other services' logs. */
  lineIntervalMs?: number;
  now?: () => number;
}

export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode === "auto" ? (stream.isTTY ? "bar" : "lines") : options.mode;
  if (mode === "none") return { update: () => undefined, stop: () => undefined };
  if (mode === "bar") return new BarReporter(stream, options.total, options.durationMs);
  return new LineReporter(stream, options.lineIntervalMs ?? 60_000, options.now ?? Date.now);
}

class BarReporter implements ProgressReporter {
  private readonly bar: SingleBar;
  private started = false;
  private readonly bySeconds: boolean;
  private readonly total: number;

  constructor(stream: NodeJS.WriteStream, total: number | undefined, durationMs: number | undefined) {
    this.bySeconds = total === undefined && durationMs !== undefined;
    this.total = total ?? (durationMs !== undefined ? Math.ceil(durationMs / 1_000) : 0);
    const unit = this.bySeconds ? "s" : "events";
    const hasTotal = this.total > 0;
    this.bar = new SingleBar({
      stream,
      format: hasTotal
        ? `simulating |{bar}| {percentage}% | {value}/{total} ${unit} | {events} events | {rate} ev/s | ETA {eta_formatted}`
        : "simulating | {events} events | {rate} ev/s | {elapsed}s",
      barCompleteChar: "\u2588",
      barIncompleteChar: "\u2591",
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      formatValue: (value, barOptions, type) =>
        type === "value" || type === "total"
          ? formatCount(value)
          : Format.ValueFormat(value, barOptions, type),
    });
  }

  update(stats: SimulationStats): void {
    const payload = {
      events: formatCount(stats.sent),
      rate: formatCount(averageRate(stats)),
      elapsed: Math.round(stats.elapsedMs / 1_000),
    };
    const value = this.bySeconds ? Math.min(this.total, Math.floor(stats.elapsedMs / 1_000)) : stats.sent;
    if (!this.started) {
      this.started = true;
      this.bar.start(this.total, value, payload);
    } else {
      this.bar.update(value, payload);
    }
  }

  stop(stats: SimulationStats): void {
    if (this.started) {
      this.update(stats);
      this.bar.stop();
    }
  }
}

class LineReporter implements ProgressReporter {
  private lastAt: number;
  private lastSent = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {
    this.lastAt = now();
  }

  update(stats: SimulationStats): void {
    const at = this.now();
    if (at - this.lastAt < this.intervalMs) return;
    const seconds = Math.max(0.001, (at - this.lastAt) / 1_000);
    const recent = stats.sent - this.lastSent;
    this.stream.write(
      `simulator: last ${Math.round(seconds)} s: ${formatCount(recent)} events (${formatCount(recent / seconds)} ev/s); ${formatCount(stats.sent)} in all, ${formatCount(averageRate(stats))} ev/s average (${formatKinds(stats.byKind)})\n`,
    );
    this.lastAt = at;
    this.lastSent = stats.sent;
  }

  stop(): void {}
}
