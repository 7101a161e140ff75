import { setTimeout as sleep } from "node:timers/promises";

const DAY_MS = 86_400_000;

/** A stretch of record times ending now, for generated streams of tests that run on the wall clock. */
export interface WallClockWindow {
  readonly startMs: number;
  readonly spanMs: number;
  /** Record time of the stream's end (now, when the window was taken). */
  readonly endMs: number;
}

/**
 * Waits until at least `minElapsedMs` of the current UTC day have passed (at most that long, right after
 * midnight), so that "today" can hold a stream of its own whatever the hour the suite runs at.
 */
async function todayElapsed(minElapsedMs: number): Promise<{ nowMs: number; dayStartMs: number }> {
  let nowMs = Date.now();
  const wait = minElapsedMs - (nowMs % DAY_MS);
  if (wait > 0) {
    await sleep(wait);
    nowMs = Date.now();
  }
  return { nowMs, dayStartMs: nowMs - (nowMs % DAY_MS) };
}

/**
 * The last `maxSpanMs` of the current UTC day (less early in the day): a stream in this window belongs to
 * today's budget period entirely, so the tracker's current state holds all of it. A test that began at
 * 00:03 with "the last three hours" would otherwise put almost everything in yesterday's period.
 */
export async function withinToday(maxSpanMs: number, minElapsedMs = 60_000): Promise<WallClockWindow> {
  const { nowMs, dayStartMs } = await todayElapsed(minElapsedMs);
  const startMs = Math.max(dayStartMs, nowMs - maxSpanMs);
  return { startMs, spanMs: nowMs - startMs, endMs: nowMs };
}

/**
 * A window ending now that crosses the last UTC midnight exactly once, with as much time before it as
 * after: a stream in it has two budget periods of comparable weight whatever the hour the test runs at.
 */
export async function acrossLastMidnight(minElapsedMs = 60_000): Promise<WallClockWindow> {
  const { nowMs, dayStartMs } = await todayElapsed(minElapsedMs);
  const startMs = dayStartMs - (nowMs - dayStartMs);
  return { startMs, spanMs: nowMs - startMs, endMs: nowMs };
}
