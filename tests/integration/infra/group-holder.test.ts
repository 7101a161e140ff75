import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer } from "kafkajs";
import { logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupHolder } from "../../integrity/support/group-holder.js";
import { deleteGroups, groupState } from "../../integrity/support/kafka-tools.js";
import { eventually } from "../../integrity/support/wait.js";
import { createTestTopic, type TestTopic, testKafka, uniqueName } from "../../support/index.js";

/**
 * The integrity suite's GroupHolder (scenario 1 kills replicas inside rebalances it holds open): a rebalance of
 * a group it is in must not complete while it holds, and must complete once it leaves, without it.
 */
describe("GroupHolder", () => {
  const kafka = testKafka({ logLevel: logLevel.NOTHING });
  const groupId = uniqueName("holder-group");
  let topic: TestTopic;
  const consumers: Consumer[] = [];

  /**
   * A replica like the services' (kafkajs, default assignor, 600 ms heartbeats): rejoins within a second.
   * Resolves once it is in a generation (kafkajs' run() waits for the join).
   */
  async function replica(): Promise<void> {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 600 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: topic.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined });
  }

  const stableWith = (members: number) => async () => {
    const group = await groupState(kafka, groupId);
    return group.state === "Stable" && group.members === members;
  };

  beforeAll(async () => {
    topic = await createTestTopic("holder", 4, kafka);
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await deleteGroups(kafka, [groupId]);
    await topic.delete();
  });

  it("keeps a rebalance in PreparingRebalance until it leaves, then the replicas complete it", async () => {
    await replica();
    await eventually("the first replica is a stable member", stableWith(1), 60_000);
    const admin = kafka.admin();
    await admin.connect();
    const { groups } = await admin.describeGroups([groupId]).finally(() => admin.disconnect());
    let joining: Promise<void> = Promise.resolve();
    const holder = await GroupHolder.join(kafka, groupId, topic.topic, groups[0]?.protocol ?? "");
    try {
      await eventually("the holder is a stable member", stableWith(2), 60_000);
      expect(await holder.waitForRebalance(1_000)).toBe(false);

      // Its join cannot complete while the holder holds: not awaited here.
      joining = replica();
      expect(await holder.waitForRebalance(60_000)).toBe(true);
      // Unheld, the replicas (600 ms heartbeats) finish such a rebalance within about a second.
      const states: string[] = [];
      for (let i = 0; i < 20; i++) {
        states.push((await groupState(kafka, groupId)).state);
        await sleep(150);
      }
      expect(new Set(states)).toEqual(new Set(["PreparingRebalance"]));
    } finally {
      await holder.release();
    }
    await joining;
    await eventually("the two replicas complete the rebalance without the holder", stableWith(2), 60_000);
  });

  it("refuses to lead a group that has no other member", async () => {
    const lonely = uniqueName("holder-lonely");
    await expect(GroupHolder.join(kafka, lonely, topic.topic, "RoundRobinAssigner")).rejects.toThrow(
      /became the leader/,
    );
    await deleteGroups(kafka, [lonely]);
  });
});
