import { spendKeys } from "@adpipe/spend-store";
import { describe, expect, it } from "vitest";
import { produceRecords, waitCaughtUp } from "./support/harness.js";
import { runRebuildRedis, useRealtimePipeline } from "./support/pipeline.js";
import { withinToday } from "./support/wall-clock.js";

// Pacing is an advertiser's setting like its mode: the warehouse keeps it (gold.budget_history.pacing), so
// `adpipe rebuild-redis` restores it and the rebuilt hash paces as before, instead of turning every paced
// advertiser into asap until its next update.

const window = await withinToday(3_600_000);
const at = (fraction: number) => Math.floor(window.startMs + window.spanMs * fraction);
const record = (value: object, timestampMs: number) => ({
  key: (value as { advertiser_id: string }).advertiser_id,
  value: Buffer.from(JSON.stringify(value)),
  timestampMs,
});
const update = (id: string, budget: number, t: number, extra: object) =>
  record(
    {
      event_type: "budget_update",
      advertiser_id: id,
      click_id: `u-${id}-${t}`,
      budget_value: budget,
      timestamp: t,
      ...extra,
    },
    t,
  );
const click = (id: string, n: number, amount: number, t: number) =>
  record({ event_type: "ad_click", advertiser_id: id, click_id: `c-${id}-${n}`, amount, timestamp: t }, t);

const records = [
  // Paced even, then re-stated: the later setting is the one in force.
  update("pace-even", 1_000, at(0.1), { pacing: "shaped" }),
  update("pace-even", 1_000, at(0.2), { pacing: "even" }),
  // Paced, then back to asap: asap is restored as a set value, not dropped.
  update("pace-asap", 1_000, at(0.1), { pacing: "even" }),
  update("pace-asap", 1_000, at(0.3), { pacing: "asap" }),
  // Never paced: no pacing field after the rebuild either.
  update("pace-none", 1_000, at(0.1), {}),
  ...Array.from({ length: 30 }, (_, i) => click("pace-even", i, 20, at(0.3 + i * 0.01))),
  ...Array.from({ length: 5 }, (_, i) => click("pace-asap", i, 10, at(0.3 + i * 0.01))),
  ...Array.from({ length: 5 }, (_, i) => click("pace-none", i, 10, at(0.3 + i * 0.01))),
];

const pipeline = useRealtimePipeline({
  name: "rt-rebuild-pacing",
  partitions: 2,
  ingestor: {},
  tracker: { env: { RECONCILE_INTERVAL_MS: "0" } },
});

const FIELDS = ["pacing", "_pacing_ts", "net_micros", "budget_micros"] as const;

async function pacingFields(id: string): Promise<(string | null)[]> {
  return pipeline.redis.hmget(spendKeys(pipeline.prefix).advertiser(id), ...FIELDS);
}

describe("rebuild from the warehouse keeps each advertiser's pacing", () => {
  it("restores pacing and its event time as the tracker had them", async () => {
    const { topic, reader } = pipeline;
    await produceRecords(topic.kafka, topic.topic, records);
    await Promise.all([
      waitCaughtUp(reader, topic.kafka, topic.topic, 90_000),
      pipeline.ingestorCaughtUp(90_000),
    ]);
    const ids = ["pace-even", "pace-asap", "pace-none"];
    const before = await Promise.all(ids.map(pacingFields));
    expect(before.map((fields) => fields[0])).toEqual(["even", "asap", null]);
    expect(before[0]?.[1]).toBe(String(at(0.2)));

    expect(await runRebuildRedis(pipeline)).toBe(0);
    expect(await Promise.all(ids.map(pacingFields))).toEqual(before);
  });
});
