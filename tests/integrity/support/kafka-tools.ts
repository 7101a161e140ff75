import { setTimeout as sleep } from "node:timers/promises";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { type AdpipeKafka, createKafka, deleteTopic, ensureTopic, WHOLE_SEND_PRODUCER } from "@adpipe/kafka";
import { type Kafka, logLevel, type Message } from "kafkajs";
import { uniqueName } from "../../support/index.js";

/** A plain-Kafka client of the suite itself (producing, reading back, admin); kafkajs' own logs off. */
export function suiteKafka(brokers: readonly string[], clientId = uniqueName("integrity")): AdpipeKafka {
  return createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: brokers.join(",") }, { clientId }), {
    logLevel: logLevel.NOTHING,
  });
}

export async function createTopic(kafka: Kafka, prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await ensureTopic(kafka, { topic, partitions });
  return topic;
}

export async function dropTopic(kafka: Kafka, topic: string): Promise<void> {
  await deleteTopic(kafka, topic);
}

/** High watermark of every partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

export const sumOffsets = (offsets: ReadonlyMap<number, number>): number =>
  [...offsets.values()].reduce((sum, n) => sum + n, 0);

/** State of a consumer group (Stable, PreparingRebalance, CompletingRebalance, Empty, Dead, …). */
export async function groupState(kafka: Kafka, groupId: string): Promise<{ state: string; members: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    return { state: group?.state ?? "Unknown", members: group?.members.length ?? 0 };
  } finally {
    await admin.disconnect();
  }
}

export async function deleteGroups(kafka: Kafka, groupIds: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([...groupIds]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** A record as it sits in the topic. */
export interface TopicRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestampMs: number;
  /** Record headers as text (the suite marks records it wants to find again, e.g. hostile ones). */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads the whole topic back (partition by partition, in offset order): the oracle is computed over exactly
 * what the pipeline consumed, so a producer retry that wrote a record twice is accounted for, not blamed on it.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 180_000): Promise<TopicRecord[]> {
  const ends = await endOffsets(kafka, topic);
  const byPartition = new Map<number, TopicRecord[]>([...ends.keys()].map((p) => [p, []]));
  const pending = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  if (pending.size === 0) return [];
  const groupId = uniqueName("integrity-readback");
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 8 * 1_048_576, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition) ?? 0;
        const list = byPartition.get(batch.partition) ?? [];
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= end) break;
          list.push({
            partition: batch.partition,
            offset,
            key: message.key ?? null,
            value: message.value ?? null,
            timestampMs: Number(message.timestamp),
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value ?? "")]),
            ),
          });
        }
        const last = list.at(-1);
        if (last !== undefined && last.offset >= end - 1) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reading ${topic} back timed out`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
    await deleteGroups(kafka, [groupId]).catch(() => undefined);
  }
  return [...byPartition.keys()].sort((a, b) => a - b).flatMap((p) => byPartition.get(p) ?? []);
}

/** What the paced producer sends: a Kafka key and value (either may be null) and the record timestamp. */
export interface OutgoingRecord {
  readonly key: string | Buffer | null;
  readonly value: Uint8Array | null;
  readonly timestampMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PacedProducerStats {
  sent: number;
  sendErrors: number;
  /** When the last record was acknowledged. */
  finishedAtMs: number | null;
}

/** What the topic holds compared with what a producer sent (records compared by key, value and timestamp). */
export interface ProducedComparison {
  /** Records sent that the topic does not hold (as many times as they were sent). */
  readonly lost: number;
  /** Extra copies of sent records in the topic: a send retried after the broker had stored it. */
  readonly duplicates: number;
  /** Records in the topic that were never sent. */
  readonly foreign: number;
}

function recordIdentity(key: string | Buffer | null, value: Uint8Array | null, timestampMs: number): string {
  const keyText = key === null ? "-" : Buffer.from(key).toString("hex");
  const valueText =
    value === null ? "-" : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex");
  return `${keyText}|${valueText}|${timestampMs}`;
}

/** Compares the topic's records with the produced ones as multisets (the stream itself repeats some records). */
export function compareWithProduced(
  produced: readonly OutgoingRecord[],
  topic: readonly TopicRecord[],
): ProducedComparison {
  const sent = new Map<string, number>();
  for (const record of produced) {
    const id = recordIdentity(record.key, record.value, record.timestampMs);
    sent.set(id, (sent.get(id) ?? 0) + 1);
  }
  const held = new Map<string, number>();
  for (const record of topic) {
    const id = recordIdentity(record.key, record.value, record.timestampMs);
    held.set(id, (held.get(id) ?? 0) + 1);
  }
  let lost = 0;
  let duplicates = 0;
  let foreign = 0;
  for (const [id, count] of sent) lost += Math.max(0, count - (held.get(id) ?? 0));
  for (const [id, count] of held) {
    const expected = sent.get(id);
    if (expected === undefined) foreign += count;
    else duplicates += Math.max(0, count - expected);
  }
  return { lost, duplicates, foreign };
}

const MAX_SEND_BYTES = 700_000;
const MAX_SEND_RECORDS = 500;

/**
 * Produces `records` in order at a steady rate (acks from all in-sync replicas). A failed send (broker down)
 * is sent again in full until it succeeds, so production resumes by itself after an outage. kafkajs' own
 * retries are off (WHOLE_SEND_PRODUCER): on a cluster they would resend only to brokers that had not answered
 * and silently drop the records of partitions whose leader moved (docs/infra.md).
 */
export function producePaced(
  kafka: Kafka,
  topic: string,
  records: readonly OutgoingRecord[],
  ratePerSecond: number,
  stats: PacedProducerStats = { sent: 0, sendErrors: 0, finishedAtMs: null },
): { stats: PacedProducerStats; done: Promise<void> } {
  const done = (async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false, ...WHOLE_SEND_PRODUCER });
    await producer.connect();
    const started = Date.now();
    try {
      while (stats.sent < records.length) {
        const due = Math.min(records.length, Math.floor(((Date.now() - started) * ratePerSecond) / 1000) + 1);
        if (due <= stats.sent) {
          await sleep(25);
          continue;
        }
        const messages: Message[] = [];
        let bytes = 0;
        for (let i = stats.sent; i < due && messages.length < MAX_SEND_RECORDS; i++) {
          const record = records[i] as OutgoingRecord;
          const size = (record.value?.byteLength ?? 0) + 64;
          // Large records go alone: one send is one record batch per partition, limited like Event Hubs (1 MB).
          if (messages.length > 0 && bytes + size > MAX_SEND_BYTES) break;
          messages.push({
            key: record.key,
            value: record.value === null ? null : Buffer.from(record.value),
            timestamp: String(record.timestampMs),
            ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
          });
          bytes += size;
        }
        try {
          await producer.send({ topic, acks: -1, messages });
          stats.sent += messages.length;
        } catch {
          stats.sendErrors += 1;
          await sleep(500);
        }
      }
      stats.finishedAtMs = Date.now();
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  })();
  return { stats, done };
}
