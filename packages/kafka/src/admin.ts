import type { Admin, ITopicConfig, Kafka } from "kafkajs";
import { AdpipeKafka } from "./client.js";
import { isAuthenticationError, KafkaError } from "./errors.js";

/** A client (an admin is connected and disconnected around the call) or an already connected admin. */
export type AdminTarget = Kafka | Admin;

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Topic configs, e.g. { "retention.ms": "86400000" }. Applied only when the topic is created. */
  configEntries?: Record<string, string>;
}

export interface EnsureTopicResult {
  created: boolean;
  partitions: number;
}

function isKafkaClient(target: AdminTarget): target is Kafka {
  return typeof (target as Kafka).admin === "function";
}

function isEventHubs(target: AdminTarget): boolean {
  return target instanceof AdpipeKafka && target.connection.flavor === "event-hubs";
}

/** Runs `work` with a connected admin, disconnecting it afterwards when this call connected it. */
export async function withAdmin<T>(target: AdminTarget, work: (admin: Admin) => Promise<T>): Promise<T> {
  if (!isKafkaClient(target)) return work(target);
  const admin = target.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new KafkaError(
      isAuthenticationError(error) ? "authentication_failed" : "admin_failed",
      `cannot connect the Kafka admin client: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

async function partitionCount(admin: Admin, topic: string): Promise<number | undefined> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return undefined;
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics.find((entry) => entry.name === topic)?.partitions.length;
}

function validateSpec(spec: TopicSpec): void {
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw new KafkaError("invalid_state", `partitions must be a positive integer, got ${spec.partitions}`);
  }
}

/**
 * Makes sure `topic` exists with at least `partitions` partitions. Idempotent and safe to race.
 * On plain Kafka it creates the topic when missing. On Event Hubs (an AdpipeKafka with that flavor), where the
 * Kafka admin API cannot create event hubs, it only checks that the hub exists.
 * A topic with fewer partitions than asked is an error (adding partitions would move keys between partitions).
 */
export async function ensureTopic(target: AdminTarget, spec: TopicSpec): Promise<EnsureTopicResult> {
  validateSpec(spec);
  const eventHubs = isEventHubs(target);
  return withAdmin(target, async (admin) => {
    let created = false;
    let partitions = await partitionCount(admin, spec.topic);
    if (partitions === undefined) {
      if (eventHubs) {
        throw new KafkaError(
          "topic_missing",
          `event hub "${spec.topic}" does not exist; create it in Azure (portal, CLI or Bicep) with ${spec.partitions} partitions: Event Hubs cannot create hubs through the Kafka API`,
        );
      }
      const topicConfig: ITopicConfig = {
        topic: spec.topic,
        numPartitions: spec.partitions,
        ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
        ...(spec.configEntries === undefined
          ? {}
          : { configEntries: Object.entries(spec.configEntries).map(([name, value]) => ({ name, value })) }),
      };
      try {
        // false when another process created it first.
        created = await admin.createTopics({ topics: [topicConfig], waitForLeaders: true });
      } catch (error) {
        throw new KafkaError("admin_failed", `cannot create topic "${spec.topic}"`, { cause: error });
      }
      partitions = created ? spec.partitions : await partitionCount(admin, spec.topic);
    }
    if (partitions === undefined || partitions < spec.partitions) {
      throw new KafkaError(
        "topic_partition_mismatch",
        `topic "${spec.topic}" has ${partitions ?? 0} partitions, ${spec.partitions} wanted`,
      );
    }
    return { created, partitions };
  });
}

/** Deletes a topic on plain Kafka; a missing topic is fine. Refused on Event Hubs. */
export async function deleteTopic(target: AdminTarget, topic: string): Promise<void> {
  if (isEventHubs(target)) {
    throw new KafkaError("unsupported_on_event_hubs", "event hubs cannot be deleted through the Kafka API");
  }
  await withAdmin(target, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) return;
    try {
      await admin.deleteTopics({ topics: [topic] });
    } catch (error) {
      const unknown =
        error instanceof Error && /does not host this topic-partition|UNKNOWN_TOPIC/i.test(error.message);
      if (!unknown) throw new KafkaError("admin_failed", `cannot delete topic "${topic}"`, { cause: error });
    }
  });
}
