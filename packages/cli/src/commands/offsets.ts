import { hostname, userInfo } from "node:os";
import { ConfigError, kafkaConnectionFromEnv, loadEnv } from "@adpipe/config";
import type { ResetTarget } from "@adpipe/core";
import { createKafka, inspectTopicLog, resolveResetTargets, type TopicLog, withAdmin } from "@adpipe/kafka";
import { SpendStore, spendStoreEnvSchema } from "@adpipe/spend-store";
import {
  applyWarehouseReset,
  clearResetDetections,
  DEFAULT_PIPELINE,
  findUnfinishedReset,
  listResetDetections,
  markOffsetReset,
  type OffsetResetRecord,
  readWarehousePositions,
  startOffsetReset,
  type WarehouseMove,
} from "@adpipe/warehouse";
import { type Command, InvalidArgumentError, Option } from "commander";
import { logLevel } from "kafkajs";
import type pg from "pg";
import { EXIT } from "../exit-codes.js";
import {
  changes,
  formatPlan,
  planReset,
  type ResetInputs,
  type ResetPlan,
  targetLabel,
} from "./offsets-plan.js";
import { connectRedis, redisFromEnv } from "./redis-support.js";
import { CommandFailure, parseInstant, withWarehouse } from "./warehouse-support.js";

/** --to: earliest | latest | an ISO-8601 instant with a zone. */
export function parseTarget(value: string): ResetTarget {
  const text = value.trim();
  if (text === "earliest") return { kind: "earliest" };
  if (text === "latest") return { kind: "latest" };
  try {
    return { kind: "time", timeMs: parseInstant(text) };
  } catch (error) {
    throw new InvalidArgumentError(
      `expected earliest, latest or an ISO-8601 time with a zone (e.g. 2026-11-25T00:00:00Z): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function parseTopic(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(value))
    throw new InvalidArgumentError("expected a Kafka topic name ([A-Za-z0-9._-], at most 249 characters)");
  return value;
}

interface ResetOptions {
  topic: string;
  to: ResetTarget;
  yes?: boolean;
  newLog?: boolean;
  reason?: string;
  actor?: string;
  skipTracker?: boolean;
  json?: boolean;
}

/** The tracker's store of `topic` (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_KEY_PREFIX and the spend-store settings), for one command. */
async function withTracker<T>(
  topic: string,
  skip: boolean,
  work: (store: SpendStore | null) => Promise<T>,
): Promise<T> {
  if (skip) return work(null);
  const connection = redisFromEnv();
  let settings: ReturnType<typeof loadEnv<typeof spendStoreEnvSchema>>;
  try {
    settings = loadEnv(spendStoreEnvSchema);
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
  const redis = await connectRedis(connection, {
    hint: " (or pass --skip-tracker when no budget-tracker runs)",
  });
  try {
    const store = new SpendStore({
      redis,
      topic,
      prefix: settings.REDIS_KEY_PREFIX,
      budgetPeriod: settings.BUDGET_PERIOD,
      timeZone: settings.BUDGET_TIME_ZONE,
      publishChanges: false,
    });
    await store.loadScripts();
    return await work(store);
  } finally {
    redis.disconnect();
  }
}

/** The topic's log and the resolved targets (Kafka admin; exit 69 when Kafka is unavailable, 2 for an unknown topic). */
async function readLog(
  topic: string,
  target: ResetTarget,
): Promise<{ log: TopicLog; targets: Map<number, bigint> }> {
  let connection: ReturnType<typeof kafkaConnectionFromEnv>;
  try {
    connection = kafkaConnectionFromEnv(process.env, { clientId: "adpipe-cli" });
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
  const kafka = createKafka(connection, {
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
    connectionTimeout: 5_000,
  });
  try {
    return await withAdmin(kafka, async (admin) => {
      if (!(await admin.listTopics()).includes(topic)) {
        throw new CommandFailure(
          `topic ${topic} does not exist on ${connection.brokers.join(",")}`,
          EXIT.usage,
        );
      }
      const log = await inspectTopicLog(admin, topic);
      return { log, targets: await resolveResetTargets(admin, log, target) };
    });
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(
      `Kafka at ${connection.brokers.join(",")} is unavailable: ${error instanceof Error ? error.message : String(error)}`,
      EXIT.unavailable,
      { cause: error },
    );
  }
}

async function gatherInputs(
  pool: pg.Pool,
  store: SpendStore | null,
  options: ResetOptions,
  assertNewLog: boolean,
): Promise<ResetInputs> {
  const { log, targets } = await readLog(options.topic, options.to);
  const warehouse = await readWarehousePositions(pool, options.topic);
  const detections = await listResetDetections(pool, options.topic);
  const warehouseFound = detections
    .filter((d) => d.service !== "budget-tracker")
    .map(
      (d) =>
        `${d.service} (${d.consumer}) recorded partition ${d.partition}: ${d.reason} (stored ${d.storedOffset ?? "?"}, end ${d.logEndOffset ?? "?"}) at ${d.detectedAt.toISOString()}`,
    );
  const meta = store === null ? null : await store.readMeta();
  return {
    topic: options.topic,
    target: options.to,
    log: log.partitions,
    targets,
    assertNewLog,
    warehouse: {
      generation: warehouse.generation,
      pipelines: warehouse.pipelines,
      defaultPipeline: process.env.INGESTOR_GROUP_ID || DEFAULT_PIPELINE,
      detected: warehouseFound,
    },
    tracker:
      meta === null
        ? null
        : {
            generation: meta.generation,
            stored: new Map(meta.offsets.map((o) => [o.partition, BigInt(o.offset)])),
            detected: (meta.resetDetected?.partitions ?? []).map(
              (p) =>
                `tracker recorded partition ${p.partition}: ${p.reason} (stored ${p.storedOffset}, end ${p.logEndOffset})`,
            ),
          },
  };
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Who ran it: --actor, else the OS user at this host (never a credential). */
function defaultActor(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? "unknown";
  }
  return `${user}@${hostname()} (adpipe cli)`;
}

function warehouseMoves(plan: ResetPlan): WarehouseMove[] {
  return plan.warehouse.pipelines.flatMap(({ pipeline, moves }) =>
    moves
      .filter((m) => m.change === "new_log" || m.change === "forward")
      .map((m) => ({ pipeline, partition: m.partition, to: m.to })),
  );
}

/**
 * Applies a plan in crash-safe order: the audit row exists before anything moves; the warehouse, then the tracker,
 * each step idempotent and recorded in the audit row; the row is closed last. A run that dies midway leaves the row
 * unfinished: `adpipe status` shows it, and the same command run again finishes it.
 */
async function applyPlan(
  pool: pg.Pool,
  store: SpendStore | null,
  plan: ResetPlan,
  audit: { id: string; warehouseDone: boolean; trackerDone: boolean },
  log: (line: string) => void,
): Promise<void> {
  if (!audit.warehouseDone) {
    if (changes(plan.warehouse)) {
      const outcome = await applyWarehouseReset(pool, {
        topic: plan.topic,
        resetId: audit.id,
        fromGeneration: plan.warehouse.fromGeneration,
        toGeneration: plan.warehouse.toGeneration,
        moves: warehouseMoves(plan),
      });
      log(
        `warehouse: ${outcome === "applied" ? "moved" : "already moved by this reset"} (generation ${plan.warehouse.toGeneration})`,
      );
    } else {
      await markOffsetReset(pool, audit.id, "warehouse");
      log("warehouse: nothing to move");
    }
  }
  if (!audit.trackerDone) {
    if (store === null || plan.tracker === null) {
      log(
        store === null
          ? "tracker: skipped (--skip-tracker)"
          : "tracker: no state in Redis (it rebuilds from the warehouse)",
      );
    } else if (changes(plan.tracker)) {
      const outcome = await store.resetPositions({
        fromGeneration: plan.tracker.fromGeneration,
        toGeneration: plan.tracker.toGeneration,
        resetId: audit.id,
        positions: plan.tracker.moves.map((m) => ({ partition: m.partition, offset: Number(m.to) })),
      });
      if (outcome === "generation_moved") {
        throw new CommandFailure(
          `the tracker's generation changed while the reset ran (another reset?): run the same command again to finish reset #${audit.id}`,
          EXIT.failed,
        );
      }
      log(
        outcome === "moved"
          ? `tracker: moved (generation ${plan.tracker.toGeneration})`
          : outcome === "already_moved"
            ? "tracker: already on the new log"
            : "tracker: Redis lost its state meanwhile (the tracker rebuilds from the warehouse)",
      );
    } else {
      log("tracker: nothing to move");
    }
    await clearResetDetections(pool, "budget-tracker", null, plan.topic);
    await markOffsetReset(pool, audit.id, "tracker");
  }
  await markOffsetReset(pool, audit.id, "completed");
}

/** The plan stored with an unfinished reset: its --to and whether the log was replaced. */
function unfinishedIntent(record: OffsetResetRecord): { target: string; newLog: boolean } {
  const plan = record.plan as { newLog?: unknown } | null;
  return { target: record.target, newLog: plan?.newLog === true };
}

async function runReset(options: ResetOptions): Promise<void> {
  const print = options.json === true ? (_line: string) => undefined : (line: string) => console.log(line);
  await withWarehouse(async (pool) =>
    withTracker(options.topic, options.skipTracker === true, async (store) => {
      const unfinished = await findUnfinishedReset(pool, options.topic);
      let assertNewLog = options.newLog === true;
      if (unfinished !== null) {
        const intent = unfinishedIntent(unfinished);
        if (intent.target !== targetLabel(options.to)) {
          throw new CommandFailure(
            `reset #${unfinished.id} of ${options.topic} (--to ${intent.target}, started ${unfinished.startedAt.toISOString()} by ${unfinished.actor}) is unfinished: run it with --to ${intent.target} to finish it first`,
            EXIT.failed,
          );
        }
        assertNewLog ||= intent.newLog;
        print(
          `resuming unfinished reset #${unfinished.id} (started ${unfinished.startedAt.toISOString()} by ${unfinished.actor}: ${unfinished.reason})`,
        );
      }
      const plan = planReset(await gatherInputs(pool, store, options, assertNewLog));
      const warehouseDone = unfinished?.warehouseAppliedAt != null;
      const trackerDone = unfinished?.trackerAppliedAt != null;
      const pending =
        (!warehouseDone && changes(plan.warehouse)) ||
        (!trackerDone && plan.tracker !== null && changes(plan.tracker));
      for (const line of formatPlan(plan)) print(line);
      if (!pending && unfinished === null) {
        print("nothing to change");
        if (options.json === true) console.log(jsonText({ plan, applied: false, nothingToChange: true }));
        return;
      }
      if (options.yes !== true) {
        print(
          "dry run: nothing changed. Run again with --yes to apply (every reset is recorded in ingest.offset_resets).",
        );
        if (options.json === true) console.log(jsonText({ plan, applied: false }));
        return;
      }
      const id =
        unfinished?.id ??
        (await startOffsetReset(pool, {
          topic: options.topic,
          target: plan.target,
          actor: options.actor ?? defaultActor(),
          reason:
            options.reason ??
            (plan.findings.length > 0
              ? `operator reset after: ${plan.findings.join("; ")}`
              : `operator reset --to ${plan.target}`),
          source: "cli",
          plan,
        }));
      print(`reset #${id}: applying`);
      await applyPlan(pool, store, plan, { id, warehouseDone, trackerDone }, print);
      print(
        `reset #${id} completed. Running services resume by themselves within TOPIC_CHECK_INTERVAL_MS (default 10 s); check with \`adpipe status\`.`,
      );
      if (options.json === true) console.log(jsonText({ plan, applied: true, resetId: id }));
    }),
  );
}

/** `adpipe offsets reset`: the explicit, audited way past a topic reset (docs/operations.md). */
export function register(program: Command): void {
  const offsets = program
    .command("offsets")
    .description(
      "Stored consumer positions of the warehouse, the tracker and the lake export (topic resets)",
    );
  offsets
    .command("reset")
    .description(
      "Move the stored positions of the warehouse (Postgres), the tracker (Redis) and the lake export consistently, e.g. after the topic was deleted and recreated; audited in ingest.offset_resets",
    )
    .requiredOption("--topic <topic>", "the Kafka topic / event hub", parseTopic)
    .requiredOption(
      "--to <target>",
      "earliest, latest, or an ISO-8601 time with a zone (first record at or after it)",
      parseTarget,
    )
    .option("--yes", "apply the plan (without it: print what would change and change nothing)")
    .option(
      "--new-log",
      "the topic was replaced although no stored position shows it (the new log already holds more records): start a new generation",
    )
    .option("--reason <text>", "why (recorded in the audit; default: what was detected)")
    .option("--actor <name>", "who (recorded in the audit; default: OS user@host)")
    .addOption(new Option("--skip-tracker", "leave Redis alone (deployments without the budget-tracker)"))
    .option("--json", "print the plan (and outcome) as JSON")
    .addHelpText(
      "after",
      `
Reads DATABASE_URL, REDIS_URL or REDIS_CLUSTER_NODES (+ REDIS_KEY_PREFIX), KAFKA_BROKERS or EVENT_HUB_CONNECTION_STRING, INGESTOR_GROUP_ID.

When the log was replaced (a stored offset lies beyond the log end, a service recorded a reset, or --new-log), the
stores start a new generation of the topic at the target: the new log's records are counted once, and nothing
already in Bronze/Silver/Gold or Redis changes. Otherwise positions only move forward (records in between are
skipped on purpose); a target behind a stored offset is kept, since moving back would count records twice.
Order: audit row, warehouse, tracker, completion. A run that dies midway is finished by running it again.
Running services (ingestor, budget-tracker, delta-exporter) notice the new positions and resume without a restart.
Exit codes: 0 applied, nothing to do, or dry run; 1 refused (another reset unfinished, state changed meanwhile);
2 usage; 69 Kafka, Postgres or Redis unavailable.`,
    )
    .action(async (options: ResetOptions) => {
      await runReset(options);
    });
}
