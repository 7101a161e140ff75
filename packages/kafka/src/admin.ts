import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@adpipe/telemetry";
import type { Admin, ITopicConfig, Kafka } from "kafkajs";
import { AdpipeKafka, stderrLogger } from "./client.js";
import { isAuthenticationError, KafkaError } from "./errors.js";
import {
  MAX_DEFAULT_REPLICATION_FACTOR,
  replicationShortfall,
  type TopicReplication,
  topicReplication,
  unregisteredReplicaBrokers,
} from "./replication.js";

/** A client (an admin is connected and disconnected around the call) or an already connected admin. */
export type AdminTarget = Kafka | Admin;

export interface TopicSpec {
  topic: string;
  partitions: number;
  /**
   * Default: the connection's (KAFKA_REPLICATION_FACTOR), else min(3, brokers in the cluster's metadata); from 3
   * up the topic also gets min.insync.replicas = factor - 1 (see topicReplication).
   */
  replicationFactor?: number;
  /**
   * Where a default replication factor below 3 is reported. Default: the AdpipeKafka client's logger; without one
   * the warning of a broker outage goes to stderr.
   */
  logger?: Logger;
  /** Topic configs, e.g. { "retention.ms": "86400000" }; win over the derived min.insync.replicas. Applied only when the topic is created. */
  configEntries?: Record<string, string>;
}

export interface EnsureTopicResult {
  created: boolean;
  partitions: number;
}

/** How long ensureTopic waits for a topic it created to have a leader per partition. */
const TOPIC_READY_TIMEOUT_MS = 30_000;

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

function loggerOf(target: AdminTarget): Logger | undefined {
  return target instanceof AdpipeKafka ? target.pipelineLogger : undefined;
}

function configuredFactor(target: AdminTarget): number | undefined {
  return target instanceof AdpipeKafka ? target.connection.replicationFactor : undefined;
}

interface ChosenReplication extends TopicReplication {
  /** Registered brokers when the factor was chosen from them; undefined for a requested factor. */
  registeredBrokers?: number[];
  /** Brokers existing partitions are assigned to that are not registered (see unregisteredReplicaBrokers). */
  missingBrokers: number[];
}

/** Every broker id the metadata of the existing topics names as a replica (empty when it cannot be read). */
async function assignedReplicas(admin: Admin): Promise<number[]> {
  try {
    const topics = await admin.listTopics();
    if (topics.length === 0) return [];
    const metadata = await admin.fetchTopicMetadata({ topics });
    return metadata.topics.flatMap((topic) =>
      topic.partitions.flatMap((partition) => [...partition.replicas, ...(partition.offlineReplicas ?? [])]),
    );
  } catch {
    // Only the warning below depends on it: a topic deleted meanwhile must not fail the creation.
    return [];
  }
}

async function replicationFor(admin: Admin, requested: number | undefined): Promise<ChosenReplication> {
  if (requested !== undefined) return { ...topicReplication(0, requested), missingBrokers: [] };
  let registeredBrokers: number[];
  try {
    registeredBrokers = (await admin.describeCluster()).brokers.map((broker) => broker.nodeId);
  } catch (error) {
    throw new KafkaError("admin_failed", "cannot read the cluster's brokers to choose a replication factor", {
      cause: error,
    });
  }
  const replication = topicReplication(registeredBrokers.length);
  const missingBrokers =
    replication.replicationFactor < MAX_DEFAULT_REPLICATION_FACTOR
      ? unregisteredReplicaBrokers(registeredBrokers, await assignedReplicas(admin))
      : [];
  return { ...replication, registeredBrokers, missingBrokers };
}

/**
 * Says how a created topic's default replication factor fell below 3: a warning (to stderr when no logger was
 * given) when brokers the cluster has were not registered at that moment, since the topic keeps the lower factor
 * after they are back; an info line, only to a logger given, on a cluster that is that small.
 */
function reportReplication(
  logger: Logger | undefined,
  topic: string,
  requested: number | undefined,
  chosen: ChosenReplication,
): void {
  const shortfall = replicationShortfall(chosen, requested, chosen.missingBrokers);
  if (shortfall === undefined) return;
  const fields = {
    topic,
    replicationFactor: chosen.replicationFactor,
    registeredBrokers: chosen.registeredBrokers,
    missingBrokers: chosen.missingBrokers,
  };
  if (shortfall === "brokers_missing") {
    (logger ?? stderrLogger).warn(
      {
        ...fields,
        action: `bring brokers ${chosen.missingBrokers.join(", ")} back, then raise the replication factor of topic ${topic} to ${MAX_DEFAULT_REPLICATION_FACTOR} with kafka-reassign-partitions.sh; set KAFKA_REPLICATION_FACTOR=${MAX_DEFAULT_REPLICATION_FACTOR} so a topic is never created with fewer copies (see docs/operations.md)`,
      },
      `topic "${topic}" created with replication factor ${chosen.replicationFactor} only: ${chosen.registeredBrokers?.length ?? 0} brokers were registered while brokers ${chosen.missingBrokers.join(", ")} hold replicas of other topics`,
    );
  } else {
    logger?.info(
      fields,
      `topic "${topic}" created with replication factor ${chosen.replicationFactor}: the cluster has ${chosen.registeredBrokers?.length ?? 0} broker(s) (set KAFKA_REPLICATION_FACTOR to choose it)`,
    );
  }
}

/**
 * Waits until the new topic's partitions all have a leader. kafkajs' own wait gives up on the first broker that has
 * not heard of the topic yet, which on a cluster is normal for a moment after creation.
 */
async function waitForLeaders(admin: Admin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics: [topic] })
      .then((metadata) => {
        const found = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? [];
        return found.length >= partitions && found.every((partition) => partition.leader >= 0);
      })
      .catch((error: unknown) => {
        if (Date.now() > deadline) throw error;
        return false;
      });
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(
        `topic "${topic}" has no leader for every partition after ${TOPIC_READY_TIMEOUT_MS} ms`,
      );
    await sleep(100);
  }
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
      const requested = spec.replicationFactor ?? configuredFactor(target);
      const replication = await replicationFor(admin, requested);
      const configEntries = {
        ...(replication.minInsyncReplicas === undefined
          ? {}
          : { "min.insync.replicas": String(replication.minInsyncReplicas) }),
        ...spec.configEntries,
      };
      const topicConfig: ITopicConfig = {
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: replication.replicationFactor,
        configEntries: Object.entries(configEntries).map(([name, value]) => ({ name, value })),
      };
      try {
        // false when another process created it first.
        created = await admin.createTopics({ topics: [topicConfig], waitForLeaders: false });
        if (created) await waitForLeaders(admin, spec.topic, spec.partitions);
      } catch (error) {
        throw new KafkaError("admin_failed", `cannot create topic "${spec.topic}"`, { cause: error });
      }
      if (created) reportReplication(spec.logger ?? loggerOf(target), spec.topic, requested, replication);
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
