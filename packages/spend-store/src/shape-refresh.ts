import { formatShape, type HourlySpend, shapeHistoryEndMs, trafficShapeOf } from "@adpipe/core";
import { advertiserIdFromKey } from "@adpipe/serving-client";
import { readStoredCalendars, type StoredCalendar } from "./calendars.js";
import { chunked, JOB_CHUNK } from "./keyspace-pass.js";
import { evalsha, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import type { StoreContext } from "./store-context.js";

/** Where the history comes from: Gold's hourly net spend of the last 7 days before endMs (shapeHistory). */
export type ShapeHistorySource = (
  advertiserIds: readonly string[],
  endMs: number,
) => Promise<ReadonlyMap<string, readonly HourlySpend[]>>;

export interface ShapeRefreshOutcome {
  /** Hashes pacing `shaped`. */
  readonly shaped: number;
  /** Of those, with enough history for a shape (the others pace even). */
  readonly withShape: number;
  /** Hashes whose `_shape` changed (written or removed). */
  readonly written: number;
}

/**
 * Refreshes `_shape` of every `shaped` advertiser: the shared SCAN pass (keyspace-pass.ts), one pipelined HMGET per chunk (pacing, calendar),
 * then ONE history query for all of them (the source), then ONE pipelined round of set_shape (it skips hashes
 * gone or no longer shaped since the read). The shape is trafficShapeOf of the history in the advertiser's time
 * zone (the tracker's default when the hash has none); without enough history `_shape` is removed (pace even).
 * The next apply_slice call (a batch or the pacing sweep) paces by it. The tracker calls it every
 * PACING_SHAPE_REFRESH_INTERVAL_MS.
 */
export async function refreshShapes(
  context: StoreContext,
  source: ShapeHistorySource,
): Promise<ShapeRefreshOutcome> {
  const nowMs = context.clock();
  const shaped: { key: string; id: string; timeZone: string; current: string }[] = [];
  const { advertiserKeys } = await context.pass.listing();
  for (const keys of chunked(advertiserKeys, JOB_CHUNK)) {
    const stored = await readStoredCalendars(context.redis, keys, ["pacing", "_shape"]);
    keys.forEach((key, i) => {
      const { calendar, extra } = stored[i] as StoredCalendar;
      if (extra[0] !== "shaped") return;
      const id = advertiserIdFromKey(key, context.keys.prefix);
      if (id === null) return;
      shaped.push({
        key,
        id,
        timeZone: calendar.timeZone?.value ?? context.timeZone,
        current: extra[1] ?? "",
      });
    });
  }
  if (shaped.length === 0) return { shaped: 0, withShape: 0, written: 0 };
  // Whole hours only: the hour in progress is not complete in Gold yet.
  const endMs = shapeHistoryEndMs(nowMs);
  const history = await source(
    shaped.map((s) => s.id),
    endMs,
  );
  const script = luaScript("set_shape");
  let withShape = 0;
  const writes = shaped.flatMap((s) => {
    const field = formatShape(trafficShapeOf(history.get(s.id) ?? [], s.timeZone, endMs));
    if (field !== "") withShape++;
    return field === s.current ? [] : [evalsha([script.sha, 1, s.key, field])];
  });
  let written = 0;
  if (writes.length > 0) {
    const results = await runScripts(context.redis, writes);
    for (const [, value] of results) if (value === 1) written++;
  }
  return { shaped: shaped.length, withShape, written };
}
