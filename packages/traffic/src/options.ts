import {
  DEFAULT_GENERATOR_SHARES,
  type GeneratorShares,
  MICROS_PER_UNIT,
  parseMoneyToMicros,
} from "@adpipe/core";
import { type Command, Option } from "commander";
import { z } from "zod";
import { SimulatorError } from "./errors.js";

export const TRANSPORTS = ["kafka", "event-hubs-sdk"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** kafkajs, or the native encoder for plain Kafka (see sinks/native); auto = native for --max on plain Kafka. */
export const PRODUCERS = ["auto", "kafkajs", "native"] as const;
export type ProducerKind = (typeof PRODUCERS)[number];

export const PROGRESS_MODES = ["auto", "bar", "lines", "none"] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** kafkajs acks: -1 all in-sync replicas, 1 the leader, 0 none. */
export const ACKS = { all: -1, leader: 1, none: 0 } as const;
export type AcksName = keyof typeof ACKS;

/** Event Hubs accepts only gzip; kafkajs has no lz4/snappy/zstd codec without extra packages. */
export const COMPRESSIONS = ["none", "gzip"] as const;
export type CompressionName = (typeof COMPRESSIONS)[number];

/** Record timestamps of --max runs advance as if 100,000 events/s were produced (the target rate). */
export const MAX_MODE_NOMINAL_RATE = 100_000;

/** Everything a simulation run needs, validated. Money in micros, times in ms. */
export interface SimulatorOptions {
  /** Events per second; undefined with `max`. */
  readonly rate: number | undefined;
  /** As fast as possible. */
  readonly max: boolean;
  /** Total events; undefined = until duration or Ctrl-C. */
  readonly count: number | undefined;
  /** Run time in ms; undefined = until count or Ctrl-C. */
  readonly durationMs: number | undefined;
  readonly seed: number;
  /** click_id prefix: streams of different runs never share a click. */
  readonly runId: string;
  /** Record timestamp of the first event; undefined = the start time. */
  readonly startMs: number | undefined;
  readonly advertisers: number;
  readonly zipf: number;
  readonly amountMicros: { min: number; max: number };
  readonly budgetMicros: { min: number; max: number };
  readonly shares: GeneratorShares;
  readonly initialBudgets: boolean;
  /**
   * How the simulated advertisers send their budgets: "clicks" (default) like the seed's web app, every click
   * carrying the budget the advertiser set and no budget_update events, so an operator's budget is never
   * overridden by the simulator; "events" sends budget_update events, which are explicit budgets.
   */
  readonly budgetChannel: "clicks" | "events";
  readonly topic: string | undefined;
  /** Create the topic with this many partitions when missing (plain Kafka only). */
  readonly createPartitions: number | undefined;
  readonly transport: Transport;
  readonly producer: ProducerKind;
  readonly acks: AcksName;
  readonly compression: CompressionName;
  /** Largest send in bytes (keys + values); Kafka and Event Hubs refuse requests above ~1 MB. */
  readonly batchBytes: number;
  /** Sends in flight at once. */
  readonly concurrency: number;
  /** Generate in a worker thread, in parallel with producing. */
  readonly generatorThread: boolean;
  readonly progress: ProgressMode;
  readonly json: boolean;
  readonly manifest: string | undefined;
  readonly opsPort: number | undefined;
}

/** What commander hands over: strings as typed, flags as booleans. */
export interface RawSimulatorOptions {
  rate?: string;
  max?: boolean;
  count?: string;
  duration?: string;
  seed?: string;
  runId?: string;
  start?: string;
  advertisers?: string;
  zipf?: string;
  amountMin?: string;
  amountMax?: string;
  budgetMin?: string;
  budgetMax?: string;
  duplicates?: string;
  malformed?: string;
  late?: string;
  future?: string;
  invalid?: string;
  budgetUpdates?: string;
  operatorBudgets?: string;
  outOfOrder?: string;
  initialBudgets?: boolean;
  budgetChannel?: string;
  topic?: string;
  partitions?: string;
  transport?: string;
  producer?: string;
  acks?: string;
  compression?: string;
  batchBytes?: string;
  concurrency?: string;
  generatorThread?: boolean;
  progress?: string;
  json?: boolean;
  manifest?: string;
  opsPort?: string;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** "90", "90s", "1.5m", "2h", "500ms" -> milliseconds (a bare number is seconds). */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (match === null) throw new Error(`expected a duration like 30s, 5m, 1h or 500ms, not "${text}"`);
  const unit = (match[2] ?? "s") as keyof typeof UNIT_MS;
  const ms = Number(match[1]) * UNIT_MS[unit];
  if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`expected a positive duration, not "${text}"`);
  return Math.round(ms);
}

/** "2026-11-25T21:00:00Z" or epoch milliseconds. */
export function parseStart(text: string): number {
  const trimmed = text.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isSafeInteger(ms))
    throw new Error(`expected an ISO-8601 time or epoch milliseconds, not "${text}"`);
  return ms;
}

/** A decimal currency amount ("0.05", "1000") -> exact micros. */
export function parseUnits(text: string): number {
  const parsed = parseMoneyToMicros(text.trim());
  if (!parsed.ok) throw new Error(`expected a decimal amount, not "${text}"`);
  return parsed.micros;
}

const integerText = (min: number, max: number) =>
  z
    .string()
    .regex(/^\s*\d+\s*$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const numberText = (min: number, max: number) =>
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*$/, "expected a number")
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const shareText = numberText(0, 1);

const fromParser = (parser: (text: string) => number) =>
  z.string().transform((text, ctx) => {
    try {
      return parser(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });

const rawSchema = z.object({
  rate: numberText(0.001, 10_000_000).optional(),
  max: z.boolean().default(false),
  count: integerText(1, Number.MAX_SAFE_INTEGER).optional(),
  duration: fromParser(parseDuration).optional(),
  seed: integerText(0, Number.MAX_SAFE_INTEGER).optional(),
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,40}$/, "expected 1-40 characters of A-Z a-z 0-9 . _ -")
    .optional(),
  start: fromParser(parseStart).optional(),
  advertisers: integerText(1, 1_000_000).default(20),
  zipf: numberText(0, 10).default(1.1),
  amountMin: fromParser(parseUnits).default(50_000),
  amountMax: fromParser(parseUnits).default(2 * MICROS_PER_UNIT),
  budgetMin: fromParser(parseUnits).default(20 * MICROS_PER_UNIT),
  budgetMax: fromParser(parseUnits).default(2_000 * MICROS_PER_UNIT),
  duplicates: shareText.default(DEFAULT_GENERATOR_SHARES.duplicate),
  malformed: shareText.default(DEFAULT_GENERATOR_SHARES.malformed),
  late: shareText.default(DEFAULT_GENERATOR_SHARES.late),
  future: shareText.default(DEFAULT_GENERATOR_SHARES.future),
  invalid: shareText.default(DEFAULT_GENERATOR_SHARES.invalid),
  budgetUpdates: shareText.default(DEFAULT_GENERATOR_SHARES.budgetUpdate),
  operatorBudgets: shareText.default(DEFAULT_GENERATOR_SHARES.operatorBudget),
  outOfOrder: shareText.default(DEFAULT_GENERATOR_SHARES.outOfOrder),
  initialBudgets: z.boolean().default(true),
  budgetChannel: z.enum(["clicks", "events"]).default("clicks"),
  topic: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, "expected 1-249 characters of a-z A-Z 0-9 . _ -")
    .optional(),
  partitions: integerText(1, 10_000).optional(),
  transport: z.enum(TRANSPORTS).default("kafka"),
  producer: z.enum(PRODUCERS).default("auto"),
  acks: z.enum(Object.keys(ACKS) as [AcksName, ...AcksName[]]).default("all"),
  compression: z.enum(COMPRESSIONS).default("none"),
  batchBytes: integerText(1_024, 1_000_000).default(900_000),
  concurrency: integerText(1, 64).optional(),
  generatorThread: z.boolean().optional(),
  progress: z.enum(PROGRESS_MODES).default("auto"),
  json: z.boolean().default(false),
  manifest: z.string().min(1).optional(),
  opsPort: integerText(0, 65_535).optional(),
});

/**
 * Validates commander's raw options into SimulatorOptions. `now` seeds the defaults that depend on time
 * (seed and run id), so a run without --seed is still reproducible from what its summary prints.
 * Throws SimulatorError("invalid_options") naming every bad option.
 */
export function parseSimulatorOptions(raw: RawSimulatorOptions, now: number = Date.now()): SimulatorOptions {
  const result = rawSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `--${kebab(String(issue.path[0] ?? "?"))}: ${issue.message}`,
    );
    throw new SimulatorError("invalid_options", lines.join("\n"));
  }
  const o = result.data;
  const problems: string[] = [];
  if (o.max && o.rate !== undefined) problems.push("--rate and --max exclude each other");
  if (o.amountMin > o.amountMax) problems.push("--amount-min is above --amount-max");
  if (o.amountMin <= 0) problems.push("--amount-min must be positive");
  if (o.budgetMin > o.budgetMax) problems.push("--budget-min is above --budget-max");
  const nonClick =
    o.duplicates + o.malformed + o.late + o.future + o.invalid + o.budgetUpdates + o.operatorBudgets;
  if (nonClick > 1)
    problems.push(
      `the shares of duplicates, malformed, late, future, invalid, budget updates and operator budgets add up to ${nonClick} (> 1)`,
    );
  if (o.transport === "event-hubs-sdk" && o.partitions !== undefined) {
    problems.push("--partitions applies to plain Kafka only (event hubs are created in Azure)");
  }
  if (o.producer === "native" && o.compression !== "none")
    problems.push("--producer native sends uncompressed batches only");
  if (o.producer === "native" && o.transport !== "kafka")
    problems.push("--producer native applies to --transport kafka only");
  if (o.transport === "event-hubs-sdk" && o.compression !== "none") {
    problems.push("--compression applies to the Kafka transport only (the SDK uses AMQP)");
  }
  if (problems.length > 0) throw new SimulatorError("invalid_options", problems.join("\n"));

  const seed = o.seed ?? now % 1_000_000_007;
  return {
    rate: o.max ? undefined : (o.rate ?? 100),
    max: o.max,
    count: o.count,
    durationMs: o.duration,
    seed,
    runId: o.runId ?? `sim${seed.toString(36)}-${now.toString(36)}`,
    startMs: o.start,
    advertisers: o.advertisers,
    zipf: o.zipf,
    amountMicros: { min: o.amountMin, max: o.amountMax },
    budgetMicros: { min: o.budgetMin, max: o.budgetMax },
    shares: {
      duplicate: o.duplicates,
      malformed: o.malformed,
      late: o.late,
      future: o.future,
      invalid: o.invalid,
      budgetUpdate: o.budgetUpdates,
      operatorBudget: o.operatorBudgets,
      outOfOrder: o.outOfOrder,
    },
    initialBudgets: o.initialBudgets,
    budgetChannel: o.budgetChannel,
    topic: o.topic,
    createPartitions: o.partitions,
    transport: o.transport,
    producer: o.producer,
    acks: o.acks,
    compression: o.compression,
    batchBytes: o.batchBytes,
    // Several sends in flight only when throughput matters: one at a time keeps each partition's order exact.
    concurrency: o.concurrency ?? (o.max ? 4 : 1),
    generatorThread: o.generatorThread ?? o.max,
    progress: o.progress,
    json: o.json,
    manifest: o.manifest,
    opsPort: o.opsPort,
  };
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Adds the simulator's options to a commander command (the simulator's own CLI and `adpipe simulate`). */
export function addSimulatorOptions(command: Command): Command {
  const d = DEFAULT_GENERATOR_SHARES;
  return command
    .addOption(new Option("--rate <events/s>", "events per second (default 100)").conflicts("max"))
    .option("--max", "as fast as possible (batched, several sends in flight, generation in a worker thread)")
    .option("--count <n>", "stop after this many events")
    .option("--duration <time>", "stop after this long: 30s, 5m, 1h, 500ms (a bare number is seconds)")
    .option(
      "--seed <n>",
      "seed of the generator: the same seed and options give the same stream (default: from the clock, printed in the summary)",
    )
    .option("--run-id <id>", "click_id prefix, so runs never share a click (default: from seed and clock)")
    .option("--start <time>", "record timestamp of the first event, ISO-8601 or epoch ms (default: now)")
    .option("--advertisers <n>", "number of advertisers", "20")
    .option("--zipf <s>", "Zipf exponent of traffic across advertisers (0 = uniform)", "1.1")
    .option("--amount-min <units>", "smallest click amount", "0.05")
    .option("--amount-max <units>", "largest click amount", "2.00")
    .option("--budget-min <units>", "smallest budget", "20")
    .option("--budget-max <units>", "largest budget", "2000")
    .option("--duplicates <share>", "share of exact re-sends of earlier clicks", String(d.duplicate))
    .option(
      "--malformed <share>",
      "share of unreadable payloads (bad JSON, bad UTF-8, oversized, ...)",
      String(d.malformed),
    )
    .option("--late <share>", "share of clicks older than the lateness horizon", String(d.late))
    .option("--future <share>", "share of clicks beyond the future skew", String(d.future))
    .option(
      "--invalid <share>",
      "share of readable but invalid clicks (bad amount, missing click_id, ...)",
      String(d.invalid),
    )
    .addOption(
      new Option(
        "--budget-channel <channel>",
        "clicks: like the seed's web app, every click carries the advertiser's budget and no budget_update is sent (an operator's budget stays in force); events: budget_update events, budget_value on some clicks",
      )
        .choices(["clicks", "events"])
        .default("clicks"),
    )
    .option(
      "--budget-updates <share>",
      "share of budget changes by the advertisers: budget_update events (--budget-channel events) or a new budget on the following clicks (clicks)",
      String(d.budgetUpdate),
    )
    .option(
      "--operator-budgets <share>",
      "share of budget_update events from an operator (half marked budget_source api) that the clicks do not learn",
      String(d.operatorBudget),
    )
    .option(
      "--out-of-order <share>",
      "share of clicks whose event time lags by up to 2 hours",
      String(d.outOfOrder),
    )
    .option(
      "--no-initial-budgets",
      "do not start with one budget_update per advertiser (--budget-channel events only)",
    )
    .option(
      "--topic <name>",
      "topic / event hub (default: KAFKA_TOPIC, the connection string's EntityPath, or ad-clicks)",
    )
    .option(
      "--partitions <n>",
      "create the topic with this many partitions if it is missing (plain Kafka only)",
    )
    .addOption(
      new Option(
        "--transport <kind>",
        "kafka protocol (Kafka or Event Hubs' Kafka endpoint) or the Event Hubs SDK (AMQP)",
      )
        .choices(TRANSPORTS)
        .default("kafka"),
    )
    .addOption(
      new Option(
        "--producer <kind>",
        "kafkajs, or a native encoder for plain Kafka (several times faster); auto = native with --max on plain Kafka",
      )
        .choices(PRODUCERS)
        .default("auto"),
    )
    .addOption(
      new Option("--acks <acks>", "acknowledgement: all in-sync replicas, the leader, or none")
        .choices(Object.keys(ACKS))
        .default("all"),
    )
    .addOption(
      new Option("--compression <codec>", "record batch compression (Event Hubs accepts gzip only)")
        .choices(COMPRESSIONS)
        .default("none"),
    )
    .option(
      "--batch-bytes <n>",
      "largest send in bytes (Kafka and Event Hubs refuse requests over ~1 MB)",
      "900000",
    )
    .option(
      "--concurrency <n>",
      "sends in flight at once (default 1, or 4 with --max; >1 can reorder a partition on retries)",
    )
    .option("--generator-thread", "generate in a worker thread (default with --max)")
    .option("--no-generator-thread", "generate on the main thread")
    .addOption(
      new Option(
        "--progress <mode>",
        "progress display: one updating bar on a terminal, a summary line a minute otherwise",
      )
        .choices(PROGRESS_MODES)
        .default("auto"),
    )
    .option("--json", "print the summary as one JSON line")
    .option(
      "--manifest <file>",
      "write the generator options and the number of events sent (to replay the stream for the oracle)",
    )
    .option(
      "--ops-port <port>",
      "serve /healthz, /readyz and /metrics on this port (default: OPS_PORT, else none)",
    );
}
