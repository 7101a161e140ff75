import {
  type DetectedReset,
  describeReset,
  detectResets,
  type LogBounds,
  type PositionMove,
  planPositions,
  type ResetTarget,
  type StorePlan,
  storesOnOldLog,
} from "@adpipe/core";

/** What `adpipe offsets reset` found, per store, before deciding anything (all read without locks). */
export interface ResetInputs {
  readonly topic: string;
  readonly target: ResetTarget;
  readonly log: readonly LogBounds[];
  /** Resolved --to offset per partition. */
  readonly targets: ReadonlyMap<number, bigint>;
  /** --new-log: the operator asserts the log was replaced even if no position shows it. */
  readonly assertNewLog: boolean;
  readonly warehouse: {
    readonly generation: number;
    /** Stored next offsets per pipeline (consumer group). */
    readonly pipelines: ReadonlyMap<string, ReadonlyMap<number, bigint>>;
    /** The ingestor's group: planned even when it has stored nothing yet. */
    readonly defaultPipeline: string;
    /** Partitions services recorded as reset (ingest.topic_reset_detections of ingestor / delta-exporter). */
    readonly detected: readonly string[];
  };
  /** null: no tracker state (skipped, or Redis holds none: the tracker rebuilds from the warehouse). */
  readonly tracker: {
    readonly generation: number;
    readonly stored: ReadonlyMap<number, bigint>;
    /** The tracker recorded a detection in its meta hash. */
    readonly detected: readonly string[];
  } | null;
}

export interface WarehousePlan extends StorePlan {
  readonly pipelines: readonly { readonly pipeline: string; readonly moves: readonly PositionMove[] }[];
}

export interface ResetPlan {
  readonly topic: string;
  readonly target: string;
  /** True when the log was replaced: detected by a position beyond the log end, by a service, or asserted. */
  readonly newLog: boolean;
  /** Why the plan thinks the log was replaced (or not). */
  readonly findings: readonly string[];
  readonly log: readonly { partition: number; start: string; end: string }[];
  readonly warehouse: WarehousePlan;
  readonly tracker: StorePlan | null;
}

export function targetLabel(target: ResetTarget): string {
  return target.kind === "time" ? new Date(target.timeMs).toISOString() : target.kind;
}

/** Does a store plan change anything? */
export function changes(plan: StorePlan): boolean {
  return (
    plan.toGeneration !== plan.fromGeneration ||
    plan.moves.some((m) => m.change === "forward" || m.change === "new_log")
  );
}

function describeFindings(store: string, resets: readonly DetectedReset[]): string[] {
  return resets.map((r) => `${store}: partition ${r.partition} ${describeReset(r)}`);
}

/**
 * Decides how each store's positions move (pure: every input was read beforehand).
 *
 * The log counts as replaced when any store's stored position lies beyond the log end, a service recorded a
 * reset, or the operator says so (--new-log). Then every store still on the old log (the lowest generation)
 * starts a new generation at the targets; a store already in a later generation moved to this log by itself
 * (RESET_POLICY=earliest) and stays. On the same log, positions only move forward (see planPositions).
 */
export function planReset(inputs: ResetInputs): ResetPlan {
  const { topic, log, targets } = inputs;
  const findings: string[] = [];
  let warehouseDetected = inputs.warehouse.detected.length > 0;
  findings.push(...inputs.warehouse.detected);
  for (const [pipeline, stored] of inputs.warehouse.pipelines) {
    const resets = detectResets(topic, stored, log);
    if (resets.length > 0) warehouseDetected = true;
    findings.push(...describeFindings(`warehouse (${pipeline})`, resets));
  }
  let trackerDetected = false;
  if (inputs.tracker !== null) {
    const resets = detectResets(topic, inputs.tracker.stored, log);
    trackerDetected = resets.length > 0 || inputs.tracker.detected.length > 0;
    findings.push(...inputs.tracker.detected, ...describeFindings("tracker", resets));
  }
  if (inputs.assertNewLog) findings.push("--new-log: the operator says the log was replaced");
  const newLog = inputs.assertNewLog || warehouseDetected || trackerDetected;

  const generations = new Map<string, number>([["warehouse", inputs.warehouse.generation]]);
  if (inputs.tracker !== null) generations.set("tracker", inputs.tracker.generation);
  const onOldLog = newLog ? storesOnOldLog(generations) : new Set<string>();
  const warehouseNewLog = warehouseDetected || onOldLog.has("warehouse");
  const trackerNewLog = trackerDetected || onOldLog.has("tracker");

  const pipelineNames = new Set([...inputs.warehouse.pipelines.keys(), inputs.warehouse.defaultPipeline]);
  const pipelines = [...pipelineNames].sort().map((pipeline) => ({
    pipeline,
    moves: planPositions({
      generation: inputs.warehouse.generation,
      stored: inputs.warehouse.pipelines.get(pipeline) ?? new Map(),
      targets,
      newLog: warehouseNewLog,
    }).moves,
  }));
  const warehouse: WarehousePlan = {
    fromGeneration: inputs.warehouse.generation,
    toGeneration: inputs.warehouse.generation + (warehouseNewLog ? 1 : 0),
    moves: pipelines.find((p) => p.pipeline === inputs.warehouse.defaultPipeline)?.moves ?? [],
    pipelines,
  };
  const tracker =
    inputs.tracker === null
      ? null
      : planPositions({
          generation: inputs.tracker.generation,
          stored: inputs.tracker.stored,
          targets,
          newLog: trackerNewLog,
        });
  return {
    topic,
    target: targetLabel(inputs.target),
    newLog,
    findings,
    log: log.map((b) => ({ partition: b.partition, start: b.start.toString(), end: b.end.toString() })),
    warehouse,
    tracker,
  };
}

function moveText(move: PositionMove): string {
  const from = move.from === null ? "-" : move.from.toString();
  switch (move.change) {
    case "new_log":
      return `${from} -> ${move.to} (new log)`;
    case "forward":
      return move.from === null
        ? `${from} -> ${move.to} (records below it are skipped)`
        : `${from} -> ${move.to} (skips ${move.to - move.from} records)`;
    case "kept":
      return `${from} kept (target ${move.target} is behind: moving back would count records twice; see adpipe reprocess)`;
    case "unchanged":
      return `${from} unchanged`;
  }
}

function storeLines(name: string, plan: StorePlan, moves: readonly PositionMove[]): string[] {
  const generation =
    plan.toGeneration === plan.fromGeneration
      ? `generation ${plan.fromGeneration}`
      : `generation ${plan.fromGeneration} -> ${plan.toGeneration}`;
  return [`  ${name}: ${generation}`, ...moves.map((m) => `    partition ${m.partition}: ${moveText(m)}`)];
}

/** The plan as an operator reads it (printed before applying, and alone without --yes). */
export function formatPlan(plan: ResetPlan): string[] {
  const lines = [
    `topic ${plan.topic}: ${plan.log.length} partitions, log ${plan.log.map((l) => `p${l.partition} [${l.start}, ${l.end})`).join(", ")}`,
    plan.newLog
      ? "the log was replaced (topic deleted and recreated, or restored): its records are new; stores on the old log start a new generation"
      : "no reset detected: positions on the same log only move forward",
    ...plan.findings.map((f) => `  found: ${f}`),
    `reset --to ${plan.target}:`,
  ];
  for (const { pipeline, moves } of plan.warehouse.pipelines) {
    lines.push(
      ...storeLines(
        `warehouse (Postgres ingest.consumer_offsets, pipeline ${pipeline})`,
        plan.warehouse,
        moves,
      ),
    );
  }
  if (plan.tracker === null) lines.push("  tracker (Redis): skipped");
  else lines.push(...storeLines("tracker (Redis meta hash)", plan.tracker, plan.tracker.moves));
  lines.push(
    plan.warehouse.toGeneration !== plan.warehouse.fromGeneration
      ? `  lake export: follows the warehouse: generation ${plan.warehouse.fromGeneration} is exported up to where the warehouse leaves it, generation ${plan.warehouse.toGeneration} from its first row`
      : "  lake export: follows the warehouse (exports what Bronze/Silver hold; nothing to move)",
  );
  return lines;
}
