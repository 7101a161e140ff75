/**
 * Topic resets: the rules that tell a replaced log from a normal one, and how stored positions move
 * when an operator (or RESET_POLICY=earliest) resets them. Used by the ingestor, the budget-tracker, the lake
 * export, `adpipe status` and `adpipe offsets reset` alike; no I/O.
 *
 * A consumer stores the next offset to read per partition. When the topic is deleted and recreated (or restored
 * elsewhere), the new log starts again at offset 0: a stored offset beyond the log end proves the log was
 * replaced, and the records at the offsets below it are new records, not replays of counted ones.
 */

/** What a service does when it finds a topic reset: `fail` (default) refuses loudly; `earliest` resets itself. */
export const RESET_POLICIES = ["fail", "earliest"] as const;
export type ResetPolicy = (typeof RESET_POLICIES)[number];
export const DEFAULT_RESET_POLICY: ResetPolicy = "fail";

/** Where an `adpipe offsets reset` moves positions: the log start, the log end, or the first record at/after a time. */
export type ResetTarget =
  | { readonly kind: "earliest" }
  | { readonly kind: "latest" }
  | { readonly kind: "time"; readonly timeMs: number };

/** The bounds of one partition's log: the first offset still held and the next offset to be written. */
export interface LogBounds {
  readonly partition: number;
  readonly start: bigint;
  readonly end: bigint;
}

export type ResetReason =
  /** The stored next offset lies beyond the log end: records were counted that this log never held. */
  | "offset_beyond_log_end"
  /** The broker reports another topic id than the one recorded (Kafka metadata v10+; see docs/operations.md). */
  | "topic_id_changed";

export type PositionCheck =
  | { readonly status: "ok" }
  /** Below the log start: retention deleted records before they were read (a gap, reported, not a reset). */
  | { readonly status: "behind_log_start" }
  | { readonly status: "reset"; readonly reason: ResetReason };

/**
 * Judges a stored next offset against the partition's log. `recordedTopicId` / `topicId`: the topic id the
 * consumer recorded and the one the broker reports now (null when unknown: then offsets alone decide).
 */
export function checkPosition(
  stored: bigint,
  log: { readonly start: bigint; readonly end: bigint },
  ids: { readonly recordedTopicId?: string | null; readonly topicId?: string | null } = {},
): PositionCheck {
  const recorded = ids.recordedTopicId ?? null;
  const current = ids.topicId ?? null;
  if (recorded !== null && current !== null && recorded !== current) {
    return { status: "reset", reason: "topic_id_changed" };
  }
  if (stored > log.end) return { status: "reset", reason: "offset_beyond_log_end" };
  if (stored < log.start) return { status: "behind_log_start" };
  return { status: "ok" };
}

/** A partition found reset, as services report it (log line, metric, /readyz, the detections table). */
export interface DetectedReset {
  readonly topic: string;
  readonly partition: number;
  readonly storedOffset: bigint;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  readonly reason: ResetReason;
  /** Generation of the topic's log the stored offset belongs to, when the finder knows it. */
  readonly generation?: number;
}

/** The partitions whose stored position says the log was replaced. Partitions without a stored offset are fine. */
export function detectResets(
  topic: string,
  stored: ReadonlyMap<number, bigint>,
  log: readonly LogBounds[],
  ids: { readonly recordedTopicId?: string | null; readonly topicId?: string | null } = {},
): DetectedReset[] {
  const found: DetectedReset[] = [];
  for (const bounds of [...log].sort((a, b) => a.partition - b.partition)) {
    const offset = stored.get(bounds.partition);
    if (offset === undefined) continue;
    const check = checkPosition(offset, bounds, ids);
    if (check.status === "reset") {
      found.push({
        topic,
        partition: bounds.partition,
        storedOffset: offset,
        logStartOffset: bounds.start,
        logEndOffset: bounds.end,
        reason: check.reason,
      });
    }
  }
  return found;
}

/** The operator-facing text of a detected reset (status output, logs, /readyz). */
export function describeReset(reset: DetectedReset): string {
  return reset.reason === "topic_id_changed"
    ? `RESET (topic id changed; stored ${reset.storedOffset}, end ${reset.logEndOffset})`
    : `RESET (stored ${reset.storedOffset} > end ${reset.logEndOffset})`;
}

/** Clamps a resolved target into the partition's log (a time after the last record resolves to the end). */
export function targetOffset(target: ResetTarget, log: LogBounds, byTime?: bigint): bigint {
  const clamp = (offset: bigint) => (offset < log.start ? log.start : offset > log.end ? log.end : offset);
  switch (target.kind) {
    case "earliest":
      return log.start;
    case "latest":
      return log.end;
    case "time":
      return clamp(byTime ?? log.end);
  }
}

export type PositionChange =
  /** The log was replaced: the position starts over on the new log (a new generation). */
  | "new_log"
  /** Same log, moved forward to the target (records in between are skipped, on purpose). */
  | "forward"
  /** Same log, the target lies behind: kept, because moving back would count records twice. */
  | "kept"
  | "unchanged";

export interface PositionMove {
  readonly partition: number;
  /** Next offset stored before (null: none stored). */
  readonly from: bigint | null;
  /** Where the position stands after the reset. */
  readonly to: bigint;
  /** Where --to pointed (differs from `to` when the target was behind and the position kept). */
  readonly target: bigint;
  readonly change: PositionChange;
}

export interface StorePlan {
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly moves: readonly PositionMove[];
}

/**
 * How one store's positions move. `newLog`: the log was replaced (detected by any consumer, or asserted by the
 * operator): the store moves to the next generation and every partition starts at its target. Otherwise the
 * store stays in its generation and positions only move forward: a target behind the stored offset would
 * count the records in between a second time (rebuilding those is `adpipe reprocess`' job), so it is kept.
 */
export function planPositions(input: {
  readonly generation: number;
  readonly stored: ReadonlyMap<number, bigint>;
  readonly targets: ReadonlyMap<number, bigint>;
  readonly newLog: boolean;
}): StorePlan {
  const partitions = [...input.targets.keys()].sort((a, b) => a - b);
  if (input.newLog) {
    return {
      fromGeneration: input.generation,
      toGeneration: input.generation + 1,
      moves: partitions.map((partition) => ({
        partition,
        from: input.stored.get(partition) ?? null,
        to: input.targets.get(partition) ?? 0n,
        target: input.targets.get(partition) ?? 0n,
        change: "new_log" as const,
      })),
    };
  }
  return {
    fromGeneration: input.generation,
    toGeneration: input.generation,
    moves: partitions.map((partition): PositionMove => {
      const from = input.stored.get(partition) ?? null;
      const target = input.targets.get(partition) ?? 0n;
      if (from === null)
        return { partition, from, to: target, target, change: target === 0n ? "unchanged" : "forward" };
      if (target > from) return { partition, from, to: target, target, change: "forward" };
      return { partition, from, to: from, target, change: target === from ? "unchanged" : "kept" };
    }),
  };
}

/**
 * Which stores start the new log when a reset is applied. A store already in a later generation than the
 * lowest one moved to the current log on its own (RESET_POLICY=earliest) and is left where it is.
 */
export function storesOnOldLog(generations: ReadonlyMap<string, number>): Set<string> {
  const lowest = Math.min(...generations.values());
  return new Set([...generations].filter(([, generation]) => generation === lowest).map(([store]) => store));
}

/** The lineage name of a topic's generation in keys that have no generation of their own (Redis fields, Delta app ids). */
export function generationTopic(topic: string, generation: number): string {
  return generation === 0 ? topic : `${topic}#g${generation}`;
}
