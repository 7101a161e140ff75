import { setTimeout as sleep } from "node:timers/promises";
import { ensureTopic } from "@adpipe/kafka";
import { describe, expect, it } from "vitest";
import { readTopic, type TopicRecord } from "../../integrity/support/kafka-tools.js";
import { oracleOf } from "../../integrity/support/verify.js";
import { eventually } from "../realtime/support/harness.js";
import { diffAgainstOracle } from "../realtime/support/oracle-compare.js";
import { expectedGold, produceRecords, readGold } from "../warehouse/support.js";
import { live, metric, PARTITIONS, readyz, useTopicResetServices } from "./topic-reset-fixture.js";

const services = useTopicResetServices({ name: "topic-reset", database: "topicreset" });

describe("a topic deleted and recreated under running services", () => {
  let before: TopicRecord[] = [];

  it("consumes the first log exactly", async () => {
    const { topic, caughtUp } = services;
    await produceRecords(topic.kafka, topic.topic, live(151, 3_000, "reset-a"));
    await eventually("both paths consumed the first log", caughtUp, 90_000);
    before = await readTopic(topic.kafka, topic.topic);
    expect(before.length).toBe(3_000);
  }, 150_000);

  it("after the recreation: not ready, RESET in status and metrics, no record taken for a replay", async () => {
    const { topic, db, reader, ingestor, tracker, adpipe } = services;
    const replayedBefore = {
      ingestor: await metric(ingestor!, /ingestor_records_total\{outcome="replayed"[^}]*\} (\d+)/),
      tracker: await metric(tracker!, /budget_tracker_replayed_skipped_total\{[^}]*\} (\d+)/),
    };
    await topic.delete();
    // The broker finishes deleting asynchronously: create again until it takes.
    await eventually(
      "the topic recreated",
      async () =>
        (await ensureTopic(topic.kafka, { topic: topic.topic, partitions: PARTITIONS }).catch(() => null)) !==
        null,
      60_000,
    );
    const after = live(152, 400, "reset-b");
    await produceRecords(topic.kafka, topic.topic, after);

    await eventually(
      "both services not ready with the reset as reason",
      async () => {
        const [i, t] = await Promise.all([readyz(ingestor!.opsPort), readyz(tracker!.opsPort)]);
        return (
          i.status === 503 &&
          i.body.includes("RESET (stored") &&
          t.status === 503 &&
          t.body.includes("RESET (stored")
        );
      },
      60_000,
    );
    expect(await metric(ingestor!, /ingestor_topic_reset_detected\{partition="0"[^}]*\} (\d+)/)).toBe(1);
    expect(await metric(tracker!, /budget_tracker_topic_reset_detected\{partition="0"[^}]*\} (\d+)/)).toBe(1);

    const status = adpipe("status");
    expect(status.status, status.out).toBe(1);
    expect(status.out).toMatch(/RESET \(stored \d+ > end \d+\)/);
    expect(status.out).toContain(`adpipe offsets reset --topic ${topic.topic} --to earliest --yes`);

    // Nothing of the new log was written or skipped as a replay while the services refused it.
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic_generation > 0",
    );
    expect(rows[0]?.n).toBe("0");
    expect(await metric(ingestor!, /ingestor_records_total\{outcome="replayed"[^}]*\} (\d+)/)).toBe(
      replayedBefore.ingestor,
    );
    expect(await metric(tracker!, /budget_tracker_replayed_skipped_total\{[^}]*\} (\d+)/)).toBe(
      replayedBefore.tracker,
    );

    // Without --yes: the plan, and nothing changes.
    const dry = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "earliest");
    expect(dry.status, dry.out).toBe(0);
    expect(dry.out).toContain("generation 0 -> 1");
    expect(dry.out).toContain("dry run: nothing changed");
    const generation = await db.pool.query("SELECT * FROM ingest.topic_generations");
    expect(generation.rows.filter((r: { generation: number }) => r.generation > 0)).toEqual([]);
    expect((await reader.readMeta())?.generation).toBe(0);
  }, 180_000);

  it("after `adpipe offsets reset --to earliest --yes` every new record is counted exactly once", async () => {
    const { topic, db, reader, ingestor, tracker, caughtUp, adpipe } = services;
    const reset = adpipe(
      "offsets",
      "reset",
      "--topic",
      topic.topic,
      "--to",
      "earliest",
      "--yes",
      "--reason",
      "integration test: topic recreated",
      "--actor",
      "vitest",
    );
    expect(reset.status, reset.out).toBe(0);
    expect(reset.out).toMatch(/reset #\d+ completed/);

    // The running services resume by themselves.
    await eventually(
      "both services ready again",
      async () =>
        (await readyz(ingestor!.opsPort)).status === 200 && (await readyz(tracker!.opsPort)).status === 200,
      60_000,
    );
    await eventually("both paths consumed the new log", caughtUp, 90_000);
    const afterRecords = await readTopic(topic.kafka, topic.topic);
    expect(afterRecords.length).toBe(400);

    const oracle = oracleOf([...before, ...afterRecords]);
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    const { rows: bronze } = await db.pool.query<{ g: number; p: number; n: string; lo: string; hi: string }>(
      `SELECT topic_generation AS g, "partition" AS p, count(*)::text AS n, min("offset")::text AS lo,
              max("offset")::text AS hi
         FROM bronze.ad_click_events_raw GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const expectBronze = (records: TopicRecord[], g: number) =>
      [...new Set(records.map((r) => r.partition))].sort().map((p) => {
        const mine = records.filter((r) => r.partition === p);
        return { g, p, n: String(mine.length), lo: "0", hi: String(mine.length - 1) };
      });
    expect(bronze).toEqual([...expectBronze(before, 0), ...expectBronze(afterRecords, 1)]);
    const silver = oracle.silver();
    const { rows: counts } = await db.pool.query<{ clean: string; dup: string }>(
      `SELECT (SELECT count(*) FROM silver.ad_click_events_clean)::text AS clean,
              (SELECT count(*) FROM silver.duplicate_clicks)::text AS dup`,
    );
    expect(counts[0]).toEqual({
      clean: String(silver.events - silver.duplicates),
      dup: String(silver.duplicates),
    });
    expect(diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()))).toEqual([]);

    const reconcile = adpipe("reconcile");
    expect(reconcile.status, reconcile.out).toBe(0);
    // Healthy again (a finding that raced the reset is cleared by the service's next check).
    let status = adpipe("status");
    for (let attempt = 0; status.status !== 0 && attempt < 5; attempt++) {
      await sleep(1_000);
      status = adpipe("status");
    }
    expect(status.status, status.out).toBe(0);

    const { rows: audit } = await db.pool.query<{
      actor: string;
      reason: string;
      status: string;
      target: string;
    }>("SELECT actor, reason, status, target FROM ingest.offset_resets ORDER BY id");
    expect(audit).toEqual([
      {
        actor: "vitest",
        reason: "integration test: topic recreated",
        status: "completed",
        target: "earliest",
      },
    ]);
  }, 240_000);
});
