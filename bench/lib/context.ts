import { join } from "node:path";
import type { AdpipeKafka } from "@adpipe/kafka";
import { Redis } from "ioredis";
import pg from "pg";
import { benchKafka, createTopic, endOffsets, removeTopic, totalRecords } from "./infra.js";
import { type PreloadResult, preloadTopic } from "./preload.js";
import type { BenchReport } from "./report.js";
import type { BenchSettings } from "./settings.js";

/** The pre-loaded topic every throughput part reads (filled once per invocation). */
export interface Dataset {
  readonly topic: string;
  readonly events: number;
  readonly endOffsets: ReadonlyMap<number, bigint>;
  readonly preload: PreloadResult;
}

/** What every part gets: settings, the report, shared clients, the dataset, and cleanup. */
export class BenchContext {
  readonly kafka: AdpipeKafka;
  readonly redis: Redis;
  readonly postgres: pg.Client;
  private readonly datasets = new Map<string, Promise<Dataset>>();
  private readonly cleanups: (() => Promise<void>)[] = [];

  constructor(
    readonly settings: BenchSettings,
    readonly report: BenchReport,
  ) {
    this.kafka = benchKafka(settings, `adpipe-bench-${settings.tag}`);
    this.redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3 });
    this.postgres = new pg.Client({ connectionString: settings.databaseUrl });
  }

  async open(): Promise<void> {
    await this.postgres.connect();
  }

  log(message: string): void {
    if (!this.settings.quiet) console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  }

  /** A name unique to this invocation: topics, consumer groups, databases, Redis prefixes. */
  name(what: string): string {
    return `bench-${this.settings.tag}-${what}`;
  }

  get profileDir(): string {
    return join(this.settings.resultsDir, "profiles", this.settings.tag);
  }

  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /**
   * The generated stream (seed, advertisers, Zipf) in a topic of `partitions` partitions, filled once per
   * invocation: "events" holds `settings.events`, "profile" the smaller stream of the CPU-profiled runs.
   */
  dataset(which: "events" | "profile" = "events"): Promise<Dataset> {
    let dataset = this.datasets.get(which);
    if (dataset === undefined) {
      dataset = this.preload(which, which === "events" ? this.settings.events : this.settings.profileEvents);
      this.datasets.set(which, dataset);
    }
    return dataset;
  }

  private async preload(which: string, count: number): Promise<Dataset> {
    const { settings } = this;
    const topic = this.name(which);
    await createTopic(this.kafka, topic, settings.partitions);
    this.defer(() => removeTopic(this.kafka, topic));
    this.log(
      `pre-loading ${count.toLocaleString("en-US")} events into ${topic} (${settings.partitions} partitions)`,
    );
    const preload = await preloadTopic(settings, {
      topic,
      events: count,
      partitions: settings.partitions,
      seed: settings.seed,
      advertisers: settings.advertisers,
      zipf: settings.zipf,
      runId: `bench-s${settings.seed}`,
    });
    const ends = await endOffsets(this.kafka, topic);
    const events = totalRecords(ends);
    if (events !== count) throw new Error(`pre-loaded ${events} records into ${topic}, expected ${count}`);
    this.log(
      `pre-loaded ${events.toLocaleString("en-US")} events (${(preload.bytes / 1_048_576).toFixed(0)} MiB) at ${Math.round(preload.eventsPerSecond).toLocaleString("en-US")} events/s`,
    );
    this.report.detail("dataset", which, { topic, ...preload });
    return { topic, events, endOffsets: ends, preload };
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) {
      await cleanup().catch((error: unknown) => this.log(`cleanup failed: ${String(error)}`));
    }
    this.cleanups.length = 0;
    await this.postgres.end().catch(() => undefined);
    this.redis.disconnect();
  }
}

/** A bench part: measures, adds figures to the report, cleans up what it created. */
export interface BenchPart {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<void>;
}
