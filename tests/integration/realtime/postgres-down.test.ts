import { Oracle } from "@adpipe/core/testing";
import { createServingClient } from "@adpipe/serving-client";
import { describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { redisDiffFromOracle, useRealtimePipeline } from "./support/pipeline.js";
import { generated } from "./support/stream.js";

// Postgres unreachable (DATABASE_URL points at a closed port): the tracker still applies every click and ad
// servers still get answers; only reconciliation fails (and says so in its metric).

const pipeline = useRealtimePipeline({
  name: "rt-pgdown",
  partitions: 2,
  tracker: {
    databaseUrl: "postgres://postgres@127.0.0.1:1/unreachable",
    env: { RECONCILE_INTERVAL_MS: "200" },
  },
});

describe("budget-tracker with Postgres unreachable", () => {
  it("keeps applying clicks and ad-server lookups keep answering", async () => {
    const { topic, reader, redis, prefix, tracker: service } = pipeline;
    const spanMs = 3_600_000;
    const stream = generated({
      seed: 51,
      events: 3_000,
      advertisers: 15,
      startMs: Date.now() - spanMs,
      spanMs,
    });
    await produceRecords(topic.kafka, topic.topic, stream);
    await waitCaughtUp(reader, topic.kafka, topic.topic);

    const oracle = new Oracle().observeAll(stream);
    expect(await redisDiffFromOracle(reader, oracle)).toEqual([]);

    const client = createServingClient({ redis, prefix });
    const expected = oracle.servingStateAt(Date.now());
    const answers = await client.canServeMany(expected.map((state) => state.advertiserId));
    for (const state of expected) expect(answers.get(state.advertiserId)).toBe(state.canServe);
    expect(await client.canServe("never-seen")).toBe(false);

    await eventually("a failed reconciliation is counted", async () =>
      /budget_tracker_reconcile_runs_total\{[^}]*result="error"[^}]*\} [1-9]/.test(
        await service.registry.metrics(),
      ),
    );
    const ready = await fetch(`http://127.0.0.1:${service.opsPort}/readyz`);
    expect(ready.status).toBe(200);
  });
});
