/**
 * The simulator against the real broker: over PLAINTEXT, and over the SASL_SSL listener that emulates the
 * Azure Event Hubs Kafka endpoint (configured from nothing but a connection string). What is consumed back
 * must be exactly the core generator's stream the manifest describes: keys, bytes, record timestamps, and
 * the partition kafkajs' default partitioner assigns to each key.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import type { GeneratedRecord } from "@adpipe/core";
import type { AdpipeKafka } from "@adpipe/kafka";
import {
  type RawSimulatorOptions,
  replayManifest,
  runSimulatorCli,
  SIMULATOR_EXIT,
  type SimulationManifest,
} from "@adpipe/traffic";
import { type Message, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createTestTopic,
  eventHubsEmulation,
  type TestTopic,
  testServices,
  uniqueName,
} from "../../support/index.js";

interface Consumed {
  key: string | null;
  value: string;
  timestampMs: number;
  partition: number;
}

function memoryIo(env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  stdout.on("data", (chunk: Buffer) => out.push(chunk.toString("utf8")));
  const stderr = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
  (stderr as unknown as PassThrough).on("data", (chunk: Buffer) => err.push(chunk.toString("utf8")));
  return { io: { env, stdout, stderr }, out: () => out.join(""), err: () => err.join("") };
}

/** Reads the whole topic from the beginning until `count` records arrived. */
async function consumeAll(
  kafka: AdpipeKafka,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("sim-reader") });
  const records: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        records.push({
          key: message.key?.toString("utf8") ?? null,
          value: message.value?.toString("latin1") ?? "",
          timestampMs: Number(message.timestamp),
          partition,
        });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (records.length < count && Date.now() < deadline) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Per partition, in offset order: what the topic must hold for these records. */
function expectedByPartition(records: readonly GeneratedRecord[], partitions: number): Map<number, string[]> {
  const partitioner = Partitioners.DefaultPartitioner();
  const metadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));
  const out = new Map<number, string[]>();
  for (const record of records) {
    if (record.key === null) continue;
    const partition = partitioner({
      topic: "t",
      partitionMetadata: metadata,
      message: { key: record.key, value: null } as Message,
    });
    const list = out.get(partition) ?? [];
    list.push(
      `${record.key}|${Buffer.from(record.value).toString("latin1")}|${Math.floor(record.timestampMs)}`,
    );
    out.set(partition, list);
  }
  return out;
}

function consumedByPartition(records: readonly Consumed[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const record of records) {
    if (record.key === null) continue;
    const list = out.get(record.partition) ?? [];
    list.push(`${record.key}|${record.value}|${record.timestampMs}`);
    out.set(record.partition, list);
  }
  return out;
}

let workdir: string;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), "adpipe-sim-"));
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  await rm(workdir, { recursive: true, force: true });
});

describe("simulator over Kafka (PLAINTEXT)", () => {
  let topic: TestTopic;
  beforeAll(async () => {
    topic = await createTestTopic("sim-kafka", 3);
  });
  afterAll(async () => {
    await topic?.delete();
  });

  test.each(["native", "kafkajs"] as const)(
    "--max --count with the %s producer: the topic holds exactly the manifest's stream, keyed to kafkajs' default partitions",
    async (producer) => {
      const topic = await createTestTopic(`sim-${producer}`, 3);
      cleanups.push(() => topic.delete());
      const manifestPath = join(workdir, `max-${producer}.json`);
      const { io, out } = memoryIo({
        KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
        KAFKA_TOPIC: topic.topic,
      });
      const raw: RawSimulatorOptions = {
        producer,
        max: true,
        count: "4000",
        seed: "77",
        runId: uniqueName("sim"),
        progress: "none",
        json: true,
        manifest: manifestPath,
        concurrency: producer === "native" ? "4" : "1",
      };
      expect(await runSimulatorCli(raw, io)).toBe(SIMULATOR_EXIT.ok);

      const summary = JSON.parse(out()) as { sent: number; byKind: Record<string, number>; topic: string };
      expect(summary.sent).toBe(4_000);
      expect(summary.topic).toBe(topic.topic);
      const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as SimulationManifest;
      const records = [...replayManifest(manifest)];
      expect(records).toHaveLength(4_000);
      const kinds: Record<string, number> = {};
      for (const record of records) kinds[record.kind] = (kinds[record.kind] ?? 0) + 1;
      expect(summary.byKind).toMatchObject(kinds);

      const consumed = await consumeAll(topic.kafka, topic.topic, 4_000);
      expect(consumed).toHaveLength(4_000);
      expect(consumedByPartition(consumed)).toEqual(expectedByPartition(records, 3));
      // Records without a key (some malformed ones) are spread round-robin, but arrive all the same.
      expect(consumed.filter((record) => record.key === null).length).toBe(
        records.filter((record) => record.key === null).length,
      );
    },
  );

  test("--rate paces the stream and record timestamps follow the rate from the start", async () => {
    const manifestPath = join(workdir, "rate.json");
    const { io } = memoryIo({
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
    });
    const started = Date.now();
    expect(
      await runSimulatorCli(
        { rate: "200", count: "300", seed: "3", progress: "none", manifest: manifestPath },
        io,
      ),
    ).toBe(SIMULATOR_EXIT.ok);
    // 300 events at 200/s take about 1.5 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as SimulationManifest;
    expect(manifest.generator.intervalMs).toBe(5);
    expect(Math.abs((manifest.generator.startMs ?? 0) - started)).toBeLessThan(5_000);
  });

  test("a missing topic is 'unavailable' (69) with a clear message; bad options are a usage error (2)", async () => {
    const missing = memoryIo({
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: uniqueName("no-such-topic"),
    });
    expect(await runSimulatorCli({ count: "1", progress: "none" }, missing.io)).toBe(
      SIMULATOR_EXIT.unavailable,
    );
    expect(missing.err()).toMatch(/does not exist: create it/);
    const bad = memoryIo({ KAFKA_BROKERS: testServices().kafkaBrokers.join(",") });
    expect(await runSimulatorCli({ rate: "-1" }, bad.io)).toBe(SIMULATOR_EXIT.usage);
    expect(await runSimulatorCli({ count: "1" }, memoryIo({ KAFKA_BROKERS: "not a broker" }).io)).toBe(
      SIMULATOR_EXIT.usage,
    );
  });
});

describe("simulator over the Event Hubs Kafka endpoint emulation (SASL_SSL, connection string only)", () => {
  let hub: TestTopic;
  beforeAll(async () => {
    hub = await createTestTopic("sim-eh", 2);
  });
  afterAll(async () => {
    await hub?.delete();
  });

  test("gzip-compressed sends arrive intact, and the log never shows the key", async () => {
    const env = { ...eventHubsEmulation(), KAFKA_TOPIC: hub.topic };
    const manifestPath = join(workdir, "eh.json");
    const { io, out, err } = memoryIo(env);
    expect(
      await runSimulatorCli(
        {
          max: true,
          count: "1500",
          seed: "5",
          compression: "gzip",
          progress: "lines",
          manifest: manifestPath,
        },
        io,
      ),
    ).toBe(SIMULATOR_EXIT.ok);
    expect(out()).toMatch(/Event Hubs Kafka endpoint 127\.0\.0\.1:9093/);
    const key = /SharedAccessKey=([^;]+)/.exec(env.EVENT_HUB_CONNECTION_STRING)?.[1] ?? "never";
    expect(out() + err()).not.toContain(key);
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as SimulationManifest;
    const records = [...replayManifest(manifest)];
    const kafka = (await import("@adpipe/kafka")).createKafka(kafkaConnectionFromEnv(env));
    const consumed = await consumeAll(kafka, hub.topic, 1_500);
    expect(consumedByPartition(consumed)).toEqual(expectedByPartition(records, 2));
  });
});
