import { readFileSync } from "node:fs";
import {
  type CaptureSource,
  capturePathMatcher,
  captureRecord,
  DEFAULT_CAPTURE_PATH_FORMAT,
  isCaptureError,
  openCaptureSource,
  planCaptureReplay,
  readCaptureEvents,
} from "@adpipe/capture";
import { ConfigError, type Env, kafkaConnectionFromEnv } from "@adpipe/config";
import {
  isWarehouseError,
  type KafkaRecord,
  PartitionCache,
  type ReplayBatchResult,
  replayBatch,
  utcDay,
} from "@adpipe/warehouse";
import type { TokenCredential } from "@azure/core-auth";
import { type Command, InvalidArgumentError } from "commander";
import type pg from "pg";
import { EXIT } from "../exit-codes.js";
import { progressReporter } from "./progress.js";
import {
  CommandFailure,
  parseInstant,
  parsePositiveInteger,
  rulesFromEnv,
  withWarehouse,
} from "./warehouse-support.js";

const MS_PER_DAY = 86_400_000;

export interface ReplayCaptureOptions {
  readonly from: number;
  readonly to: number;
  readonly source: string;
  /** Event hub (topic) the files are of; default: EVENT_HUB_NAME / KAFKA_TOPIC / EntityPath. */
  readonly topic?: string;
  /** The live ingestor's consumer group; default INGESTOR_GROUP_ID or adpipe-ingestor. */
  readonly pipeline?: string;
  /** No live ingestor consumes this topic into this database. */
  readonly standalone?: boolean;
  readonly pathFormat?: string;
  readonly batchSize?: number;
  /** Read and count, write nothing. */
  readonly dryRun?: boolean;
}

export interface ReplayCaptureDependencies {
  readonly env?: Env;
  readonly stderr?: NodeJS.WriteStream;
  /** Replaces the Blob credential AZURE_AUTH names (tests). */
  readonly credential?: TokenCredential;
}

export interface ReplayCaptureSummary {
  readonly files: number;
  /** Events read from the files, in and out of the time range. */
  readonly events: number;
  /** Events with an enqueued time in [from, to). */
  readonly inRange: number;
  readonly written: number;
  readonly alreadyPresent: number;
  readonly leftToLivePipeline: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly goldRows: number;
  readonly servingUpdates: number;
}

function add(total: Record<string, number>, result: ReplayBatchResult): void {
  for (const field of [
    "written",
    "alreadyPresent",
    "leftToLivePipeline",
    "rejected",
    "duplicates",
    "goldRows",
    "servingUpdates",
  ] as const) {
    total[field] = (total[field] ?? 0) + result[field];
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/**
 * The oldest time a replay may write: retention drops Bronze/Silver days before `now - WAREHOUSE_RETENTION_DAYS`
 * while Gold keeps their sums; writing them again would count them twice.
 */
function retentionFloor(retentionDays: number, nowMs: number): number | undefined {
  return retentionDays > 0 ? Date.parse(utcDay(nowMs - retentionDays * MS_PER_DAY)) : undefined;
}

/** Capture and configuration errors as the exit codes adpipe documents. */
function commandFailureOf(error: unknown): unknown {
  if (error instanceof ConfigError) return new CommandFailure(error.message, EXIT.usage, { cause: error });
  if (!isCaptureError(error)) return error;
  const code =
    error.code === "ADP_CAPTURE_SOURCE_FAILED"
      ? EXIT.unavailable
      : error.code === "ADP_CAPTURE_BAD_FILE"
        ? EXIT.failed
        : EXIT.usage;
  const hint =
    error.code === "ADP_CAPTURE_BAD_FILE"
      ? ". Records of earlier batches are kept; fix or move the file and run again: what is already in Bronze is skipped"
      : "";
  return new CommandFailure(`${error.message}${hint}`, code, { cause: error });
}

/** `adpipe replay-capture`: Event Hubs Capture files -> Bronze/Silver/Gold, idempotently. */
export async function replayCapture(
  options: ReplayCaptureOptions,
  dependencies: ReplayCaptureDependencies = {},
): Promise<ReplayCaptureSummary> {
  const env = dependencies.env ?? process.env;
  const stderr = dependencies.stderr ?? process.stderr;
  if (options.from >= options.to) throw new CommandFailure("--from must be before --to", EXIT.usage);
  const rules = rulesFromEnv();
  const floor = retentionFloor(rules.retentionDays, Date.now());
  if (floor !== undefined && options.from < floor) {
    throw new CommandFailure(
      `--from ${new Date(options.from).toISOString()} is before ${new Date(floor).toISOString()}: retention ` +
        `(WAREHOUSE_RETENTION_DAYS=${rules.retentionDays}) dropped Bronze and Silver before that day while Gold ` +
        "kept their sums, so replaying them would count them twice. Replay a later range (or raise the retention " +
        "and restore the warehouse from a backup first)",
      EXIT.usage,
    );
  }
  let topic = options.topic;
  if (topic === undefined) {
    try {
      topic = kafkaConnectionFromEnv(env).topic;
    } catch (error) {
      if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
      throw error;
    }
  }
  const livePipeline =
    options.standalone === true ? null : (options.pipeline ?? (env.INGESTOR_GROUP_ID || "adpipe-ingestor"));
  const pathFormat = options.pathFormat ?? DEFAULT_CAPTURE_PATH_FORMAT;
  const matcher = capturePathMatcher(pathFormat);
  const caFile = env.AZURE_STORAGE_CA_FILE;
  let source: CaptureSource;
  let plan: ReturnType<typeof planCaptureReplay>;
  try {
    source = await openCaptureSource(options.source, {
      env,
      ...(dependencies.credential === undefined ? {} : { credential: dependencies.credential }),
      ...(caFile === undefined || caFile === "" ? {} : { tlsCa: readFileSync(caFile, "utf8") }),
    });
    plan = planCaptureReplay(await source.list(), {
      matcher,
      topic,
      fromMs: options.from,
      toMs: options.to,
      pathFormat,
    });
  } catch (error) {
    throw commandFailureOf(error);
  }
  stderr.write(
    `replay-capture: ${plan.files.length} Capture file(s), ${megabytes(plan.bytes)}, of event hub ${topic} from ` +
      `${source.description}` +
      (plan.outsideRange + plan.otherHubs > 0
        ? ` (skipped: ${plan.outsideRange} outside the range, ${plan.otherHubs} of other event hubs)`
        : "") +
      `${options.dryRun === true ? "; dry run: nothing is written" : ""}\n`,
  );

  const totals: Record<string, number> = {};
  let events = 0;
  let inRange = 0;
  const progress = progressReporter(
    stderr,
    "replay-capture",
    (done, total) => `${megabytes(done)}/${megabytes(total)}, ${inRange} events`,
  );
  const run = async (pool: pg.Pool | null): Promise<void> => {
    const partitions = new PartitionCache();
    const flush = async (batch: KafkaRecord[]): Promise<void> => {
      if (batch.length === 0 || pool === null) return;
      const client = await pool.connect();
      try {
        add(
          totals,
          await replayBatch(client, batch, {
            livePipeline,
            parseLimits: rules.parseLimits,
            partitions,
            ...(floor === undefined ? {} : { notBeforeMs: floor }),
            ...(rules.budgetPeriod === undefined ? {} : { budgetPeriod: rules.budgetPeriod }),
            ...(rules.timeZone === undefined ? {} : { timeZone: rules.timeZone }),
          }),
        );
      } finally {
        client.release();
      }
    };
    let bytesDone = 0;
    progress.update({ done: 0, total: plan.bytes });
    for (const file of plan.files) {
      const input = await source.open(file.path);
      input.on("data", (chunk: Buffer) => {
        bytesDone += chunk.length;
      });
      let batch: KafkaRecord[] = [];
      for await (const event of readCaptureEvents(input, file.path)) {
        events += 1;
        if (event.enqueuedTimeMs < options.from || event.enqueuedTimeMs >= options.to) continue;
        inRange += 1;
        batch.push(captureRecord(event, topic, file.placement.partition));
        if (batch.length >= (options.batchSize ?? 5_000)) {
          await flush(batch);
          batch = [];
          progress.update({ done: bytesDone, total: plan.bytes });
        }
      }
      await flush(batch);
      progress.update({ done: bytesDone, total: plan.bytes });
    }
  };
  try {
    if (options.dryRun === true) await run(null);
    else await withWarehouse((pool) => run(pool));
  } catch (error) {
    progress.stop();
    if (isCaptureError(error)) throw commandFailureOf(error);
    if (
      error instanceof CommandFailure &&
      isWarehouseError(error.cause) &&
      error.cause.code === "ADP_WAREHOUSE_REPLAY_UNOWNED"
    ) {
      throw new CommandFailure(
        `${error.cause.message}. Start the ingestor (group ${livePipeline}) first, pass --pipeline with its consumer ` +
          "group, or --standalone when no ingestor will ever consume this topic into this database",
        EXIT.usage,
        { cause: error.cause },
      );
    }
    throw error;
  }
  progress.stop();
  return {
    files: plan.files.length,
    events,
    inRange,
    written: totals.written ?? 0,
    alreadyPresent: totals.alreadyPresent ?? 0,
    leftToLivePipeline: totals.leftToLivePipeline ?? 0,
    rejected: totals.rejected ?? 0,
    duplicates: totals.duplicates ?? 0,
    goldRows: totals.goldRows ?? 0,
    servingUpdates: totals.servingUpdates ?? 0,
  };
}

function parsePathFormat(value: string): string {
  try {
    capturePathMatcher(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

export function register(program: Command): void {
  program
    .command("replay-capture")
    .description(
      "Replay Event Hubs Capture (Avro) files of [--from, --to) into Bronze/Silver/Gold with the ingestor's rules; " +
        "idempotent (records Bronze already holds are skipped)",
    )
    .requiredOption(
      "--from <iso>",
      "start of the range (inclusive, enqueued time), ISO-8601 with zone",
      parseInstant,
    )
    .requiredOption("--to <iso>", "end of the range (exclusive), ISO-8601 with zone", parseInstant)
    .requiredOption(
      "--source <path|url>",
      "a directory (or .avro file) of Capture files, or https://<account>.blob.core.windows.net/<container>[/<folder>]",
    )
    .option("--topic <name>", "the event hub the files are of (default: EVENT_HUB_NAME / KAFKA_TOPIC)")
    .option(
      "--pipeline <group>",
      "the live ingestor's consumer group: records at or past its position are left to it (default: INGESTOR_GROUP_ID or adpipe-ingestor)",
    )
    .option(
      "--standalone",
      "no ingestor will ever consume this topic into this database: replay every record",
    )
    .option(
      "--path-format <format>",
      `the capture's file name format (default ${DEFAULT_CAPTURE_PATH_FORMAT})`,
      parsePathFormat,
    )
    .option("--batch-size <n>", "records per transaction", parsePositiveInteger, 5_000)
    .option("--dry-run", "read and count the events in range, write nothing")
    .action(async (options: ReplayCaptureOptions) => {
      if (options.standalone === true && options.pipeline !== undefined) {
        throw new CommandFailure("--standalone and --pipeline exclude each other", EXIT.usage);
      }
      const started = Date.now();
      const summary = await replayCapture(options);
      const seconds = ((Date.now() - started) / 1_000).toFixed(1);
      console.log(
        options.dryRun === true
          ? `dry run: ${summary.inRange} events in range (of ${summary.events}) in ${summary.files} files, ${seconds} s`
          : `replayed ${summary.inRange} Capture events in range (of ${summary.events} read from ${summary.files} files) in ${seconds} s: ` +
              `${summary.written} written, ${summary.alreadyPresent} already in Bronze, ` +
              `${summary.leftToLivePipeline} left to the live ingestor; ${summary.rejected} rejected, ` +
              `${summary.duplicates} duplicate clicks; ${summary.goldRows} Gold rows and ${summary.servingUpdates} serving decisions changed`,
      );
      if (summary.leftToLivePipeline > 0) {
        console.log(
          "  records at or past the ingestor's position are its to read from Kafka; if they have already left Kafka, " +
            "run this again once the ingestor has moved past them",
        );
      }
    });
}
