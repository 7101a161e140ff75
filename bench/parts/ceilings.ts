import { formatMicros, generateStream, parseEvent } from "@adpipe/core";
import { Consumer } from "@platformatic/kafka";
import type { Message } from "kafkajs";
import { from as copyFrom } from "pg-copy-streams";
import type { BenchContext, BenchPart } from "../lib/context.js";
import { createBenchDatabase, createTopic, deletePrefix, removeTopic } from "../lib/infra.js";
import { preloadTopic } from "../lib/preload.js";

const PART = "ceilings";
/** Fetch settings of the ingestor (INGESTOR_MAX_BYTES_PER_PARTITION, INGESTOR_MAX_WAIT_MS defaults). */
const MAX_BYTES_PER_PARTITION = 4 * 1_048_576;
const MAX_WAIT_MS = 100;
/** Largest produce request: Kafka and Event Hubs refuse requests over ~1 MB. */
const PRODUCE_BATCH_BYTES = 900_000;
const PRODUCE_IN_FLIGHT = 4;
const HINCRBY_PIPELINE = 5_000;

interface ConsumeRun {
  readonly eventsPerSecond: number;
  /** From consumer start to the first batch (group join and first fetch). */
  readonly firstBatchMs: number;
}

/** kafkajs, no processing: count the records of each batch (offsets auto-resolved, as kafkajs does). */
async function consumeKafkajs(
  context: BenchContext,
  topic: string,
  events: number,
  run: number,
): Promise<ConsumeRun> {
  const consumer = context.kafka.consumer({
    groupId: context.name(`ceiling-kafkajs-${run}`),
    maxWaitTimeInMs: MAX_WAIT_MS,
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let count = 0;
    let firstAt = 0;
    const started = performance.now();
    const done = new Promise<number>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          if (firstAt === 0) firstAt = performance.now();
          count += batch.messages.length;
          if (count >= events) resolve(performance.now());
        },
      });
    });
    const ended = await done;
    return { eventsPerSecond: events / ((ended - started) / 1000), firstBatchMs: firstAt - started };
  } finally {
    await consumer.disconnect();
  }
}

/** @platformatic/kafka 1.x, no processing: count the messages of its stream. */
async function consumePlatformatic(
  context: BenchContext,
  topic: string,
  events: number,
  run: number,
): Promise<ConsumeRun> {
  const consumer = new Consumer({
    groupId: context.name(`ceiling-platformatic-${run}`),
    clientId: context.name("platformatic"),
    bootstrapBrokers: context.settings.kafkaBrokers.split(","),
    maxWaitTime: MAX_WAIT_MS,
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
  });
  try {
    const started = performance.now();
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    let count = 0;
    let firstAt = 0;
    const ended = await new Promise<number>((resolve, reject) => {
      stream.on("error", reject);
      stream.on("data", () => {
        if (firstAt === 0) firstAt = performance.now();
        count += 1;
        if (count === events) resolve(performance.now());
      });
    });
    await stream.close();
    return { eventsPerSecond: events / ((ended - started) / 1000), firstBatchMs: firstAt - started };
  } finally {
    await consumer.close(true);
  }
}

/** Generated records as kafkajs messages, built before any clock starts. */
function generatedMessages(context: BenchContext, events: number): Message[] {
  const { settings } = context;
  const messages: Message[] = [];
  for (const record of generateStream({
    seed: settings.seed,
    events,
    advertisers: settings.advertisers,
    zipfExponent: settings.zipf,
    startMs: Date.now(),
    intervalMs: 0.01,
    runId: `bench-s${settings.seed}`,
  })) {
    messages.push({
      key: record.key,
      value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength),
      timestamp: String(record.timestampMs),
    });
  }
  return messages;
}

function chunksByBytes(messages: readonly Message[], maxBytes: number): Message[][] {
  const chunks: Message[][] = [];
  let chunk: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.value as Buffer).byteLength + (message.key?.length ?? 0) + 70;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** kafkajs producer, pre-built messages, ~900 KB sends, several in flight, acks=1, no compression. */
async function produceKafkajs(
  context: BenchContext,
  topic: string,
  chunks: readonly Message[][],
): Promise<number> {
  const producer = context.kafka.producer();
  await producer.connect();
  try {
    let next = 0;
    let sent = 0;
    const started = performance.now();
    const lane = async () => {
      for (;;) {
        const chunk = chunks[next++];
        if (chunk === undefined) return;
        await producer.send({ topic, acks: 1, messages: chunk });
        sent += chunk.length;
      }
    };
    await Promise.all(Array.from({ length: PRODUCE_IN_FLIGHT }, lane));
    return sent / ((performance.now() - started) / 1000);
  } finally {
    await producer.disconnect();
  }
}

function copyText(value: string | null): string {
  if (value === null) return "\\N";
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

/** Bronze rows of the generated stream in COPY text format, chunked (built before the clock starts). */
function bronzeCopyChunks(messages: readonly Message[]): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let offset = 0;
  for (const message of messages) {
    const value = message.value as Buffer;
    const kafkaMs = Number(message.timestamp);
    const parsed = parseEvent(value, { referenceTimeMs: kafkaMs });
    const key = message.key === null || message.key === undefined ? null : String(message.key);
    const ok = parsed.ok;
    const cells = [
      ok ? parsed.eventType : null,
      ok ? parsed.clickId : null,
      ok ? parsed.advertiser : null,
      ok ? parsed.advertiserId : null,
      ok ? parsed.adId : null,
      ok && parsed.amountMicros !== null ? formatMicros(parsed.amountMicros) : null,
      ok && parsed.budgetMicros !== null ? formatMicros(parsed.budgetMicros) : null,
      ok && parsed.eventTimeMs !== null ? new Date(parsed.eventTimeMs).toISOString() : null,
      "bench-copy",
      String(offset % 12),
      String(offset++),
      new Date(kafkaMs).toISOString(),
      key === null ? null : `\\x${Buffer.from(key).toString("hex")}`,
      `\\x${value.toString("hex")}`,
      String(value.byteLength),
      "f",
      ok ? "parsed" : "rejected",
      ok ? null : parsed.reason,
      ok ? null : parsed.detail,
    ];
    lines.push(cells.map(copyText).join("\t"));
    if (lines.length === 10_000) {
      chunks.push(Buffer.from(`${lines.join("\n")}\n`));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(`${lines.join("\n")}\n`));
  return chunks;
}

const BRONZE_COLUMNS =
  'event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp", topic, "partition", "offset", kafka_timestamp, record_key, raw_payload, payload_bytes, payload_truncated, parse_status, rejection_reason, rejection_detail';

export const ceilingsPart: BenchPart = {
  name: PART,
  description:
    "raw consume (kafkajs, @platformatic/kafka), raw produce (kafkajs, native encoder), Postgres COPY of Bronze rows, Redis pipelined HINCRBY",
  async run(context) {
    const { settings, report } = context;
    const dataset = await context.dataset();
    const runs = Array.from({ length: settings.runs }, (_, i) => i + 1);

    context.log("ceiling: kafkajs consume, no processing");
    const kafkajsRuns: ConsumeRun[] = [];
    for (const run of runs)
      kafkajsRuns.push(await consumeKafkajs(context, dataset.topic, dataset.events, run));
    report.add({
      id: "ceiling.consume_kafkajs",
      part: PART,
      label: "consume, kafkajs 2.2 (no processing)",
      unit: "events/s",
      better: "higher",
      runs: kafkajsRuns.map((r) => r.eventsPerSecond),
      note: `${dataset.events} records, ${settings.partitions} partitions, from consumer start (group join included)`,
    });
    report.detail(
      PART,
      "consume_kafkajs_first_batch_ms",
      kafkajsRuns.map((r) => Math.round(r.firstBatchMs)),
    );

    context.log("ceiling: @platformatic/kafka consume, no processing");
    const platformaticRuns: ConsumeRun[] = [];
    for (const run of runs) {
      platformaticRuns.push(await consumePlatformatic(context, dataset.topic, dataset.events, run));
    }
    report.add({
      id: "ceiling.consume_platformatic",
      part: PART,
      label: "consume, @platformatic/kafka 1.x (no processing)",
      unit: "events/s",
      better: "higher",
      runs: platformaticRuns.map((r) => r.eventsPerSecond),
      ceilingId: "ceiling.consume_kafkajs",
    });
    report.detail(
      PART,
      "consume_platformatic_first_batch_ms",
      platformaticRuns.map((r) => Math.round(r.firstBatchMs)),
    );

    const messages = generatedMessages(context, settings.ceilingEvents);
    const scratch = context.name("produce");
    await createTopic(context.kafka, scratch, settings.partitions);
    try {
      context.log(`ceiling: kafkajs produce (${settings.ceilingEvents} records per run)`);
      const chunks = chunksByBytes(messages, PRODUCE_BATCH_BYTES);
      const produceRuns: number[] = [];
      for (const _ of runs) produceRuns.push(await produceKafkajs(context, scratch, chunks));
      report.add({
        id: "ceiling.produce_kafkajs",
        part: PART,
        label: "produce, kafkajs (pre-built, 900 KB sends, 4 in flight, acks=1)",
        unit: "events/s",
        better: "higher",
        runs: produceRuns,
      });

      context.log("ceiling: simulator produce (native encoder, generation included)");
      const nativeRuns: number[] = [];
      for (const run of runs) {
        const result = await preloadTopic(settings, {
          topic: scratch,
          events: settings.ceilingEvents,
          partitions: settings.partitions,
          seed: settings.seed + run,
          advertisers: settings.advertisers,
          zipf: settings.zipf,
          runId: `bench-produce-${run}`,
        });
        nativeRuns.push(result.eventsPerSecond);
      }
      report.add({
        id: "ceiling.produce_native",
        part: PART,
        label: "produce, simulator --max (native encoder, generator thread)",
        unit: "events/s",
        better: "higher",
        runs: nativeRuns,
      });
    } finally {
      await removeTopic(context.kafka, scratch);
    }

    context.log(`ceiling: Postgres COPY of Bronze-sized rows (${settings.ceilingEvents} per run)`);
    const copyChunks = bronzeCopyChunks(messages);
    const copyBytes = copyChunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const database = await createBenchDatabase(settings, "copy");
    try {
      const client = await database.pool.connect();
      try {
        await client.query(
          "CREATE TABLE public.bronze_copy (LIKE bronze.ad_click_events_raw INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        );
        await client.query(
          'ALTER TABLE public.bronze_copy ADD PRIMARY KEY (topic, "partition", "offset", kafka_timestamp)',
        );
        const copyRuns: number[] = [];
        for (const _ of runs) {
          await client.query("TRUNCATE public.bronze_copy");
          const started = performance.now();
          await client.query("BEGIN");
          const stream = client.query(copyFrom(`COPY public.bronze_copy (${BRONZE_COLUMNS}) FROM STDIN`));
          await new Promise<void>((resolve, reject) => {
            stream.on("finish", resolve);
            stream.on("error", reject);
            let i = 0;
            const writeMore = () => {
              while (i < copyChunks.length) {
                if (!stream.write(copyChunks[i++])) {
                  stream.once("drain", writeMore);
                  return;
                }
              }
              stream.end();
            };
            writeMore();
          });
          await client.query("COMMIT");
          copyRuns.push(messages.length / ((performance.now() - started) / 1000));
        }
        report.add({
          id: "ceiling.pg_copy_bronze",
          part: PART,
          label: "Postgres COPY, Bronze-sized rows (1 transaction, PK index)",
          unit: "rows/s",
          better: "higher",
          runs: copyRuns,
          note: `${Math.round(copyBytes / messages.length)} bytes of COPY text per row`,
        });
      } finally {
        client.release();
      }
    } finally {
      await database.drop();
    }

    context.log(
      `ceiling: Redis pipelined HINCRBY (${settings.ceilingEvents} per run, ${HINCRBY_PIPELINE} per pipeline)`,
    );
    const prefix = `bench:${settings.tag}:hincrby:`;
    const keys = messages.map(
      (m) => `${prefix}{${m.key === null || m.key === undefined ? "none" : String(m.key)}}`,
    );
    const hincrRuns: number[] = [];
    try {
      for (const _ of runs) {
        const started = performance.now();
        for (let i = 0; i < keys.length; i += HINCRBY_PIPELINE) {
          const pipeline = context.redis.pipeline();
          for (const key of keys.slice(i, i + HINCRBY_PIPELINE)) pipeline.hincrby(key, "net_micros", 250_000);
          await pipeline.exec();
        }
        hincrRuns.push(keys.length / ((performance.now() - started) / 1000));
      }
    } finally {
      await deletePrefix(context.redis, prefix);
    }
    report.add({
      id: "ceiling.redis_hincrby",
      part: PART,
      label: `Redis HINCRBY, pipelines of ${HINCRBY_PIPELINE}`,
      unit: "commands/s",
      better: "higher",
      runs: hincrRuns,
    });
  },
};
