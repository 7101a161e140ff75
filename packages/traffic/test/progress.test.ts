import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { createProgressReporter } from "../src/progress.js";
import { emptyStats } from "../src/stats.js";

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { stream: stream as unknown as NodeJS.WriteStream, lines };
}

describe("progress lines (logs, CI, the supervisor)", () => {
  test("one summary line a minute, however often progress is reported", async () => {
    let now = 0;
    const { stream, lines } = capture();
    const reporter = createProgressReporter({
      mode: "lines",
      total: undefined,
      durationMs: undefined,
      stream,
      now: () => now,
    });
    const stats = emptyStats(0);
    // 20 events/s for 150 s, reported every 100 ms (as the simulator does).
    for (let tick = 1; tick <= 1_500; tick++) {
      now = tick * 100;
      stats.sent += 2;
      stats.byKind.click += 2;
      stats.elapsedMs = now;
      reporter.update(stats);
    }
    reporter.stop(stats);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      "simulator: last 60 s: 1,200 events (20 ev/s); 1,200 in all, 20 ev/s average (click 1,200)",
      "simulator: last 60 s: 1,200 events (20 ev/s); 2,400 in all, 20 ev/s average (click 2,400)",
    ]);
  });
});
