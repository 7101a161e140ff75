import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, REPO_ROOT, type TestTopic, testServices, uniqueName } from "../../support/index.js";
import {
  bronzeByReason,
  createTestDatabase,
  endOffsets,
  expectedBronzeByReason,
  expectedGold,
  produceRecords,
  readGold,
  storedProgress,
  type TestDatabase,
  waitForIngested,
} from "./support.js";

/** The ingestor as its own process, run from TypeScript sources (`npm start` runs the same main from dist/). */
function spawnIngestor(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "services/ingestor/src/main.ts"],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  });
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

describe("ingestor process: SIGKILL mid-run, restart, still exact; SIGTERM exits 0", () => {
  let db: TestDatabase;
  let topic: TestTopic;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [db, topic] = await Promise.all([
      createTestDatabase("ingestor_kill"),
      createTestTopic("wh-ingestor-kill", 4),
    ]);
  });
  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.allSettled([db?.drop(), topic?.delete()]);
  });

  it("totals equal the oracle after a SIGKILL in the middle of the run and a restart", {
    timeout: 240_000,
  }, async () => {
    const records = [...generateStream({ seed: 99, events: 24_000, advertisers: 40 })];
    const oracle = new Oracle().observeAll(records);
    const group = uniqueName("wh-kill-group");
    const env = {
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      DATABASE_URL: db.url,
      INGESTOR_GROUP_ID: group,
      // Small transactions, so the kill lands between many commits (and likely inside one).
      INGESTOR_MAX_BATCH_RECORDS: "150",
      OPS_PORT: "0",
      RETENTION_INTERVAL_MS: "0",
      LOG_LEVEL: "warn",
    };
    await produceRecords(topic.kafka, topic.topic, records);
    const ends = await endOffsets(topic.kafka, topic.topic);
    const total = [...ends.values()].reduce((sum, end) => sum + BigInt(end), 0n);

    const first = spawnIngestor(env);
    children.push(first.child);
    // Kill once between 15% and 85% of the records are committed.
    const deadline = Date.now() + 120_000;
    let progress = 0n;
    for (;;) {
      progress = [...(await storedProgress(db.pool, group, topic.topic)).values()].reduce(
        (sum, n) => sum + n,
        0n,
      );
      if (progress * 100n >= total * 15n) break;
      if (first.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`ingestor made no progress:\n${first.output()}`);
      await sleep(20);
    }
    first.child.kill("SIGKILL");
    expect((await exited(first.child)).signal).toBe("SIGKILL");
    const atKill = [...(await storedProgress(db.pool, group, topic.topic)).values()].reduce(
      (sum, n) => sum + n,
      0n,
    );
    expect(atKill).toBeLessThan(total);
    console.log(`[ingestor-kill] killed with ${atKill}/${total} records committed`);

    const second = spawnIngestor(env);
    children.push(second.child);
    await waitForIngested(db.pool, group, topic.topic, ends, 180_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${second.output()}`);
    });
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    expect(await bronzeByReason(db.pool)).toEqual(expectedBronzeByReason(oracle));

    // SIGTERM: the batch in flight finishes, the process exits 0.
    second.child.kill("SIGTERM");
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
  });
});
