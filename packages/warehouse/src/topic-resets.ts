import type { DetectedReset } from "@adpipe/core";
import type { ClientBase, Pool } from "pg";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

/** The services that record detected topic resets (ingest.topic_reset_detections.service). */
export type ResetDetectingService = "ingestor" | "budget-tracker" | "delta-exporter";

/** The warehouse's current generation of a topic (0 until a reset moved it). */
export async function readTopicGeneration(
  client: ClientBase | Pool,
  topic: string,
): Promise<{ generation: number; resetId: string | null }> {
  const { rows } = await client.query<{ generation: number; reset_id: string | null }>(
    queryConfig("topic_generation_read", [topic]),
  );
  const row = rows[0];
  return { generation: row?.generation ?? 0, resetId: row?.reset_id ?? null };
}

/** Every pipeline's stored next offsets of a topic, and the generation they belong to. */
export interface WarehousePositions {
  readonly generation: number;
  readonly pipelines: ReadonlyMap<string, ReadonlyMap<number, bigint>>;
}

/** Reads (without locking) what a reset of `topic` would move in the warehouse. */
export async function readWarehousePositions(
  client: ClientBase | Pool,
  topic: string,
): Promise<WarehousePositions> {
  const { generation } = await readTopicGeneration(client, topic);
  const { rows } = await client.query<{ pipeline: string; partition: number; next_offset: string }>(
    queryConfig("topic_offsets_read", [topic]),
  );
  const pipelines = new Map<string, Map<number, bigint>>();
  for (const row of rows) {
    let offsets = pipelines.get(row.pipeline);
    if (offsets === undefined) {
      offsets = new Map();
      pipelines.set(row.pipeline, offsets);
    }
    offsets.set(row.partition, BigInt(row.next_offset));
  }
  return { generation, pipelines };
}

export interface WarehouseMove {
  readonly pipeline: string;
  readonly partition: number;
  readonly to: bigint;
}

export interface WarehouseResetStep {
  readonly topic: string;
  /** The audit row (ingest.offset_resets) this step belongs to. */
  readonly resetId: string;
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly moves: readonly WarehouseMove[];
}

/**
 * The warehouse's part of a reset, in ONE transaction: locks the topic's generation row and every stored offset of
 * the topic (live ingestor batches wait, then see the new generation and re-seek), records where the old generation
 * ended, moves the offsets, sets the generation, forgets the warehouse's detected resets and marks the audit row.
 * Idempotent: a re-run after a crash finds the generation already moved by this reset and changes nothing.
 * Refused (WarehouseError "reset_refused") when the generation is neither the planned one nor this reset's.
 */
export async function applyWarehouseReset(
  pool: Pool,
  step: WarehouseResetStep,
): Promise<"applied" | "already_applied"> {
  const client = await pool.connect();
  let inTransaction = false;
  try {
    await client.query("BEGIN");
    inTransaction = true;
    const { rows: locked } = await client.query<{ generation: number; reset_id: string | null }>(
      queryConfig("topic_generation_lock", [step.topic]),
    );
    const current = locked[0]?.generation ?? 0;
    const newLog = step.toGeneration > step.fromGeneration;
    if (newLog && current === step.toGeneration && locked[0]?.reset_id === step.resetId) {
      await client.query("ROLLBACK");
      inTransaction = false;
      return "already_applied";
    }
    if (current !== step.fromGeneration) {
      throw new WarehouseError(
        "reset_refused",
        `the warehouse is in generation ${current} of topic ${step.topic}, the reset was planned from generation ${step.fromGeneration}: plan it again`,
      );
    }
    const { rows: stored } = await client.query<{ pipeline: string; partition: number }>(
      queryConfig("topic_offsets_lock", [step.topic]),
    );
    // A new log moves every pipeline's rows of the topic, also partitions the plan did not list (start at 0).
    const moves = new Map(step.moves.map((m) => [`${m.pipeline}\u0000${m.partition}`, m]));
    if (newLog) {
      for (const row of stored) {
        const key = `${row.pipeline}\u0000${row.partition}`;
        if (!moves.has(key)) moves.set(key, { pipeline: row.pipeline, partition: row.partition, to: 0n });
      }
    }
    const list = [...moves.values()];
    await client.query(
      queryConfig("topic_offsets_move", [
        step.topic,
        step.fromGeneration,
        step.toGeneration,
        list.map((m) => m.pipeline),
        list.map((m) => m.partition),
        list.map((m) => m.to.toString()),
        step.resetId,
      ]),
    );
    await client.query(
      queryConfig("topic_reset_detections_clear", [step.topic, ["ingestor", "delta-exporter"], null]),
    );
    await client.query(queryConfig("offset_reset_mark", [step.resetId, "warehouse"]));
    await client.query("COMMIT");
    inTransaction = false;
    return "applied";
  } catch (error) {
    if (inTransaction) await client.query("ROLLBACK").catch(() => undefined);
    if (error instanceof WarehouseError) throw error;
    throw new WarehouseError("reset_refused", `moving the warehouse offsets of ${step.topic} failed`, {
      cause: error,
    });
  } finally {
    client.release();
  }
}

/** A detected reset as services record it: the core finding plus the generation the stored offset belongs to. */
export interface ResetDetection extends DetectedReset {
  readonly generation: number;
  readonly detail?: string;
}

/** Records (or refreshes) detected resets of one consumer in ONE statement. */
export async function recordResetDetections(
  client: ClientBase | Pool,
  service: ResetDetectingService,
  consumer: string,
  topic: string,
  detections: readonly ResetDetection[],
): Promise<void> {
  if (detections.length === 0) return;
  await client.query(
    queryConfig("topic_reset_detections_record", [
      service,
      consumer,
      topic,
      detections.map((d) => d.partition),
      detections.map((d) => d.generation),
      detections.map((d) => d.storedOffset.toString()),
      detections.map((d) => d.logStartOffset.toString()),
      detections.map((d) => d.logEndOffset.toString()),
      detections.map((d) => d.reason),
      detections.map((d) => d.detail ?? null),
    ]),
  );
}

/** Forgets a consumer's (null: every consumer's) detected resets of a topic (its positions fit the log again). */
export async function clearResetDetections(
  client: ClientBase | Pool,
  service: ResetDetectingService,
  consumer: string | null,
  topic: string,
): Promise<void> {
  await client.query(queryConfig("topic_reset_detections_clear", [topic, [service], consumer]));
}

export interface ResetDetectionRow {
  readonly service: ResetDetectingService;
  readonly consumer: string;
  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  readonly storedOffset: string | null;
  readonly logStartOffset: string | null;
  readonly logEndOffset: string | null;
  readonly reason: string;
  readonly detail: string | null;
  readonly detectedAt: Date;
}

/** Detected resets of a topic (every topic when null), for status, the dashboard and the reset command. */
export async function listResetDetections(
  client: ClientBase | Pool,
  topic: string | null,
): Promise<ResetDetectionRow[]> {
  const { rows } = await client.query<{
    service: ResetDetectingService;
    consumer: string;
    topic: string;
    partition: number;
    generation: number;
    stored_offset: string | null;
    log_start_offset: string | null;
    log_end_offset: string | null;
    reason: string;
    detail: string | null;
    detected_at: Date;
  }>(queryConfig("topic_reset_detections_list", [topic]));
  return rows.map((row) => ({
    service: row.service,
    consumer: row.consumer,
    topic: row.topic,
    partition: row.partition,
    generation: row.generation,
    storedOffset: row.stored_offset,
    logStartOffset: row.log_start_offset,
    logEndOffset: row.log_end_offset,
    reason: row.reason,
    detail: row.detail,
    detectedAt: row.detected_at,
  }));
}

export type OffsetResetSource = "cli" | "reset_policy" | "supervisor";

/** An audit row of ingest.offset_resets. */
export interface OffsetResetRecord {
  readonly id: string;
  readonly topic: string;
  readonly target: string;
  readonly actor: string;
  readonly reason: string;
  readonly source: OffsetResetSource;
  readonly plan: unknown;
  readonly status: "started" | "completed" | "abandoned";
  readonly startedAt: Date;
  readonly warehouseAppliedAt: Date | null;
  readonly trackerAppliedAt: Date | null;
  readonly completedAt?: Date | null;
}

type AuditRow = {
  id: string;
  topic: string;
  target: string;
  actor: string;
  reason: string;
  source: OffsetResetSource;
  plan: unknown;
  status: OffsetResetRecord["status"];
  started_at: Date;
  warehouse_applied_at: Date | null;
  tracker_applied_at: Date | null;
  completed_at?: Date | null;
};

function auditRecord(row: AuditRow): OffsetResetRecord {
  return {
    id: row.id,
    topic: row.topic,
    target: row.target,
    actor: row.actor,
    reason: row.reason,
    source: row.source,
    plan: row.plan,
    status: row.status,
    startedAt: row.started_at,
    warehouseAppliedAt: row.warehouse_applied_at,
    trackerAppliedAt: row.tracker_applied_at,
    ...(row.completed_at === undefined ? {} : { completedAt: row.completed_at }),
  };
}

/**
 * Opens the audit row of a reset (status started) before anything moves. Refused (WarehouseError
 * "reset_refused") while another reset of the topic is unfinished.
 */
export async function startOffsetReset(
  client: ClientBase | Pool,
  entry: {
    topic: string;
    target: string;
    actor: string;
    reason: string;
    source: OffsetResetSource;
    plan: unknown;
  },
): Promise<string> {
  try {
    const { rows } = await client.query<{ id: string }>(
      queryConfig("offset_reset_start", [
        entry.topic,
        entry.target.slice(0, 64),
        entry.actor.slice(0, 200),
        entry.reason.slice(0, 2_000),
        entry.source,
        JSON.stringify(entry.plan, (_key, value: unknown) =>
          typeof value === "bigint" ? value.toString() : value,
        ),
      ]),
    );
    return rows[0]?.id ?? "";
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new WarehouseError(
        "reset_refused",
        `another reset of topic ${entry.topic} is unfinished: finish it first (run \`adpipe offsets reset\` again)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The unfinished reset of a topic (a run that crashed midway, or one in progress), if any. */
export async function findUnfinishedReset(
  client: ClientBase | Pool,
  topic: string,
): Promise<OffsetResetRecord | null> {
  const { rows } = await client.query<AuditRow>(queryConfig("offset_reset_unfinished", [topic]));
  return rows[0] === undefined ? null : auditRecord(rows[0]);
}

/** The latest resets of a topic, newest first. */
export async function recentOffsetResets(
  client: ClientBase | Pool,
  topic: string,
  limit = 10,
): Promise<OffsetResetRecord[]> {
  const { rows } = await client.query<AuditRow>(queryConfig("offset_resets_recent", [topic, limit]));
  return rows.map(auditRecord);
}

/** Records a step of a reset in its audit row ("completed" / "abandoned" close it). */
export async function markOffsetReset(
  client: ClientBase | Pool,
  id: string,
  step: "warehouse" | "tracker" | "completed" | "abandoned",
): Promise<void> {
  await client.query(queryConfig("offset_reset_mark", [id, step]));
}
