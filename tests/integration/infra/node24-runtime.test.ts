/**
 * Node 24 LTS is production's runtime (Dockerfile) while the machine's default node is older: a produce →
 * consume through @adpipe/kafka runs as a Node 24 process against the real broker and must print no
 * TimeoutNegativeWarning (kafkajs's request queue armed timers with negative delays; patches/ fixes it).
 * scripts/node24.sh finds Node 24 or installs it from the npm registry; when it cannot, this test fails.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, REPO_ROOT, type TestTopic, testServices } from "../../support/index.js";

const run = promisify(execFile);
const ROUND_TRIP = "tests/integration/infra/support/kafka-round-trip.ts";

describe("the Kafka client on Node 24", () => {
  let node24: string;
  let topic: TestTopic;

  beforeAll(async () => {
    node24 = (await run("bash", ["scripts/node24.sh", "path"], { cwd: REPO_ROOT })).stdout.trim();
    topic = await createTestTopic("node24-round-trip", 2);
  });
  afterAll(async () => {
    await topic?.delete();
  });

  it("produces and consumes without a TimeoutNegativeWarning", async () => {
    const { NODE_OPTIONS: _inherited, ...env } = process.env;
    const { stdout, stderr } = await run(node24, ["--conditions=source", "--import", "tsx", ROUND_TRIP], {
      cwd: REPO_ROOT,
      env: {
        ...env,
        KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
        KAFKA_TOPIC: topic.topic,
        ROUND_TRIP_COUNT: "20",
      },
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      node?: string;
      consumed?: number;
    };
    expect(result.node).toMatch(/^v24\./);
    expect(result.consumed).toBe(20);
    expect(stderr, stderr).not.toMatch(/TimeoutNegativeWarning/);
  });
});
