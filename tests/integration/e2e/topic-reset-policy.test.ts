import { ensureTopic } from "@adpipe/kafka";
import { describe, expect, it } from "vitest";
import { readTopic } from "../../integrity/support/kafka-tools.js";
import { oracleOf } from "../../integrity/support/verify.js";
import { eventually } from "../realtime/support/harness.js";
import { diffAgainstOracle } from "../realtime/support/oracle-compare.js";
import { expectedGold, produceRecords, readGold } from "../warehouse/support.js";
import { live, metric, PARTITIONS, readyz, useTopicResetServices } from "./topic-reset-fixture.js";

const services = useTopicResetServices({
  name: "reset-policy",
  database: "resetpolicy",
  env: { RESET_POLICY: "earliest" },
});

describe("RESET_POLICY=earliest", () => {
  it("both consumers reset themselves to the new log and count every record once", async () => {
    const { topic, db, reader, ingestor, tracker, caughtUp, adpipe } = services;
    await produceRecords(topic.kafka, topic.topic, live(161, 2_000, "policy-a"));
    await eventually("both paths consumed the first log", caughtUp, 90_000);
    const before = await readTopic(topic.kafka, topic.topic);

    await topic.delete();
    await eventually(
      "the topic recreated",
      async () =>
        (await ensureTopic(topic.kafka, { topic: topic.topic, partitions: PARTITIONS }).catch(() => null)) !==
        null,
      60_000,
    );
    await produceRecords(topic.kafka, topic.topic, live(162, 300, "policy-b"));
    await eventually(
      "both reset themselves",
      async () =>
        (await metric(ingestor!, /ingestor_topic_resets_total\{policy="earliest"[^}]*\} (\d+)/)) === 1 &&
        (await metric(tracker!, /budget_tracker_topic_resets_total\{policy="earliest"[^}]*\} (\d+)/)) === 1,
      60_000,
    );
    await eventually("both paths consumed the new log", caughtUp, 90_000);
    await eventually(
      "both ready",
      async () =>
        (await readyz(ingestor!.opsPort)).status === 200 && (await readyz(tracker!.opsPort)).status === 200,
      30_000,
    );
    const after = await readTopic(topic.kafka, topic.topic);
    const oracle = oracleOf([...before, ...after]);
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    expect(diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()))).toEqual([]);
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic_generation = 1",
    );
    expect(rows[0]?.n).toBe(String(after.length));

    const { rows: audit } = await db.pool.query<{
      source: string;
      status: string;
      target: string;
      actor: string;
    }>("SELECT source, status, target, actor FROM ingest.offset_resets ORDER BY id");
    expect(audit.map((a) => [a.source, a.status, a.target])).toEqual([
      ["reset_policy", "completed", "earliest"],
      ["reset_policy", "completed", "earliest"],
    ]);
    expect(audit.map((a) => a.actor.split(" ")[0]).sort()).toEqual(["budget-tracker", "ingestor"]);
    const reconcile = adpipe("reconcile");
    expect(reconcile.status, reconcile.out).toBe(0);
  }, 240_000);
});
