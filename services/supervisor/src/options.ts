import { Command, Option } from "commander";
import { z } from "zod";
import { SupervisorError } from "./errors.js";
import type { SupervisorOptions } from "./pipeline.js";

export interface RawSupervisorOptions {
  headless?: boolean;
  duration?: string;
  partitions?: string;
  topic?: string;
  simulator?: boolean;
  rate?: string;
  simCount?: string;
  simSeed?: string;
  simRunId?: string;
  simManifest?: string;
  simAdvertisers?: string;
  apiPort?: string;
  opsPortBase?: string;
  groupPrefix?: string;
  redisPrefix?: string;
  stateFile?: string;
  mode?: string;
  startBroker?: boolean;
  fresh?: boolean;
  readyTimeout?: string;
  logFormat?: string;
}

export interface CliOptions extends SupervisorOptions {
  /** No banner and no colors: for tests and CI (logs stay prefixed lines). */
  readonly headless: boolean;
  readonly logFormat: "pretty" | "raw";
}

const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const seconds = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "expected seconds")
  .transform((text) => Math.round(Number(text) * 1_000))
  .pipe(z.number().positive());

const schema = z.object({
  headless: z.boolean().default(false),
  duration: seconds.optional(),
  partitions: whole(1, 1_000).default(4),
  topic: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,249}$/, "expected 1-249 characters of a-z A-Z 0-9 . _ -")
    .optional(),
  simulator: z.boolean().default(true),
  rate: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "expected events per second")
    .transform(Number)
    .pipe(z.number().positive().max(1_000_000))
    .default(20),
  simCount: whole(1, Number.MAX_SAFE_INTEGER).optional(),
  simSeed: whole(0, Number.MAX_SAFE_INTEGER).optional(),
  simRunId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,40}$/)
    .optional(),
  simManifest: z.string().min(1).optional(),
  simAdvertisers: whole(1, 100_000).default(20),
  apiPort: whole(1, 65_535).default(8080),
  opsPortBase: whole(1, 65_532).default(9101),
  groupPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .default("adpipe"),
  redisPrefix: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/)
    .optional(),
  stateFile: z.string().min(1).optional(),
  mode: z.enum(["auto", "dist", "source"]).default("auto"),
  startBroker: z.boolean().default(true),
  fresh: z.boolean().default(false),
  readyTimeout: seconds.default(90_000),
  logFormat: z.enum(["pretty", "raw"]).default("pretty"),
});

export function parseSupervisorOptions(raw: RawSupervisorOptions): CliOptions {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) =>
        `--${String(issue.path[0] ?? "?").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`,
    );
    throw new SupervisorError("invalid_options", lines.join("\n"));
  }
  const o = result.data;
  return {
    headless: o.headless,
    logFormat: o.logFormat,
    durationMs: o.duration,
    partitions: o.partitions,
    topic: o.topic,
    simulator: o.simulator,
    rate: o.rate,
    simCount: o.simCount,
    simSeed: o.simSeed,
    simRunId: o.simRunId,
    simManifest: o.simManifest,
    simAdvertisers: o.simAdvertisers,
    apiPort: o.apiPort,
    opsPortBase: o.opsPortBase,
    groupPrefix: o.groupPrefix,
    redisPrefix: o.redisPrefix,
    stateFile: o.stateFile,
    mode: o.mode,
    startBroker: o.startBroker,
    fresh: o.fresh,
    readyTimeoutMs: o.readyTimeout,
  };
}

export function supervisorCommand(): Command {
  return new Command("adpipe-start")
    .description(
      "Run the whole pipeline on this machine: local Kafka broker (if none answers), Postgres/Redis check, topic, migrations, ingestor, budget-tracker, API + dashboard, alerter and the click simulator",
    )
    .option("--headless", "no banner and no colors (tests, CI); logs stay prefixed lines")
    .option("--duration <seconds>", "stop everything after this many seconds (default: run until Ctrl-C)")
    .option("--partitions <n>", "partitions of the topic when it is created", "4")
    .option(
      "--topic <name>",
      "topic (default: KAFKA_TOPIC, the connection string's EntityPath, or ad-clicks)",
    )
    .option("--no-simulator", "do not start the click simulator")
    .option("--rate <events/s>", "simulator events per second", "20")
    .option("--sim-count <n>", "simulator: stop after this many events (the pipeline keeps running)")
    .option("--sim-seed <n>", "simulator: generator seed")
    .option("--sim-run-id <id>", "simulator: click_id prefix")
    .option(
      "--sim-manifest <file>",
      "simulator: write its generator options and count here (replay for the oracle)",
    )
    .option("--sim-advertisers <n>", "simulator: number of advertisers", "20")
    .option("--api-port <port>", "API and dashboard port", "8080")
    .option(
      "--ops-port-base <port>",
      "ops port of the ingestor; the budget-tracker gets +1, the simulator +2, the alerter +3",
      "9101",
    )
    .option(
      "--group-prefix <prefix>",
      "consumer groups are <prefix>-ingestor and <prefix>-budget-tracker",
      "adpipe",
    )
    .option(
      "--redis-prefix <prefix>",
      "REDIS_KEY_PREFIX for the tracker and the API (default: theirs, adspend:)",
    )
    .option("--state-file <file>", "write what runs (pids, ports, URLs) as JSON once ready")
    .addOption(
      new Option(
        "--mode <mode>",
        "run services from dist (after npm run build) or from src through tsx; auto = like the supervisor itself",
      )
        .choices(["auto", "dist", "source"])
        .default("auto"),
    )
    .option("--no-start-broker", "fail instead of starting the local broker when Kafka does not answer")
    .option(
      "--fresh",
      "start the local broker on new, empty storage (scripts/kafka.sh reset first); otherwise it keeps its data across runs",
    )
    .option("--ready-timeout <seconds>", "how long each service may take to become ready", "90")
    .addOption(
      new Option("--log-format <format>", "pretty: pino lines made readable; raw: as the services print them")
        .choices(["pretty", "raw"])
        .default("pretty"),
    )
    .addHelpText(
      "after",
      `
Configuration of the services comes from the environment as usual (KAFKA_BROKERS or EVENT_HUB_CONNECTION_STRING,
DATABASE_URL, REDIS_URL, API_WRITE_TOKENS, LOG_LEVEL, ...); the supervisor sets the topic, ports and groups.

The local broker keeps its topics across runs (scripts/kafka.sh stop keeps its data), so a second run resumes
where the first stopped. When the supervisor has to create the topic on the local broker (first run, --fresh,
or after scripts/kafka.sh reset), the positions its pipeline stored for an earlier topic of that name are
forgotten: the warehouse reads the new log as the topic's next generation (audited in ingest.offset_resets),
Bronze/Silver/Gold and the spend in Redis stay, and the tracker rebuilds from the warehouse.

One supervisor per --api-port: a second one prints "already running (pid ..., dashboard ...)" and exits 2.

Exit codes: 0 stopped cleanly, 1 a service failed, 2 bad options or configuration, or already running,
69 Kafka, Postgres or Redis unavailable, 70 internal error.`,
    );
}
