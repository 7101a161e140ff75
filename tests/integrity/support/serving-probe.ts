import { setTimeout as sleep } from "node:timers/promises";
import { redisConnectionFromEnv } from "@adpipe/config";
import {
  createRedisClient,
  createServingClient,
  type ServingClient,
  type ServingState,
} from "@adpipe/serving-client";
import { type Cluster, Redis } from "ioredis";
import type { PrefixStates } from "./prefix-states.js";

export interface ProbeStats {
  /** Rounds of lookups (each: every advertiser, through every client). */
  rounds: number;
  /** Lookups answered (per advertiser and client). */
  answered: number;
  /** Lookups of an advertiser without a hash, answered with the client's SERVE_WHEN_UNKNOWN. */
  unknown: number;
  /** Lookups that failed (Redis unreachable): no answer rather than a wrong one. */
  errors: number;
  /** States no prefix of the stream produces, or answers contradicting SERVE_WHEN_UNKNOWN. */
  wrong: string[];
  firstErrorAtMs: number | null;
  lastErrorAtMs: number | null;
  /** Longest round (every advertiser through every client), answered or failed: a lookup that hung. */
  slowestRoundMs: number;
  /** Why lookups failed: error messages (numbers replaced by #) and how many rounds each failed. */
  failures: Record<string, number>;
}

/** Counts a failure under its message with numbers and addresses blanked (MOVED 123 127.0.0.1:7001 → MOVED #). */
export function noteFailure(stats: ProbeStats, message: string): void {
  const kind = message.replace(/\d+(\.\d+)*(:\d+)?/g, "#").slice(0, 120);
  stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
}

interface ProbeClient {
  readonly name: string;
  readonly serveWhenUnknown: boolean;
  readonly client: ServingClient;
}

/** An advertiser id no stream uses: its answer must always be the configured SERVE_WHEN_UNKNOWN. */
export const NEVER_SEEN = "integrity-never-seen";

/**
 * Ad servers during a fault: three @adpipe/serving-client instances (fail closed, fail open, fail closed with
 * the local cache) look up every advertiser every `everyMs` through Redis connections that fail fast, and
 * every answer is judged: a known state must be one the advertiser really went through, an unknown one must
 * get the configured answer.
 */
export class ServingProbe {
  readonly stats: ProbeStats = {
    rounds: 0,
    answered: 0,
    unknown: 0,
    errors: 0,
    wrong: [],
    firstErrorAtMs: null,
    lastErrorAtMs: null,
    slowestRoundMs: 0,
    failures: {},
  };
  private readonly connections: (Redis | Cluster)[] = [];
  private readonly clients: ProbeClient[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    redisUrl: string,
    prefix: string,
    private readonly advertiserIds: readonly string[],
    private readonly valid: PrefixStates,
  ) {
    const connect = () => {
      // A Redis Cluster (redis+cluster://): the client an ad server makes with @adpipe/serving-client.
      const redis = redisUrl.startsWith("redis+cluster://")
        ? createRedisClient(redisConnectionFromEnv({ REDIS_URL: redisUrl }), {
            maxRetriesPerRequest: 0,
            commandTimeout: 1_000,
            connectTimeout: 1_000,
          })
        : new Redis(redisUrl, {
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
            commandTimeout: 1_000,
            connectTimeout: 1_000,
            retryStrategy: () => 50,
          });
      redis.on("error", () => undefined);
      this.connections.push(redis);
      return redis;
    };
    this.clients.push(
      { name: "closed", serveWhenUnknown: false, client: createServingClient({ redis: connect(), prefix }) },
      {
        name: "open",
        serveWhenUnknown: true,
        client: createServingClient({ redis: connect(), prefix, serveWhenUnknown: true }),
      },
      {
        name: "closed+cache",
        serveWhenUnknown: false,
        client: createServingClient({
          redis: connect(),
          prefix,
          localCache: { maxEntries: 1_000, ttlMs: 2_000 },
        }),
      },
    );
  }

  /** Starts once every connection is up (a fail-fast connection refuses commands before that). */
  async start(everyMs = 250): Promise<this> {
    await Promise.all(
      this.connections.map((redis) =>
        redis.status === "ready" ? undefined : new Promise((resolve) => redis.once("ready", resolve)),
      ),
    );
    await Promise.all(this.clients.map((c) => c.client.ready()));
    this.timer = setInterval(() => void this.round(), everyMs);
    return this;
  }

  /**
   * Lookups back to back (no pause) for `ms`: the window between Redis coming back empty and the rebuilt
   * state may last only milliseconds, and whatever an ad server could read in it must be judged too.
   */
  async burst(ms: number): Promise<number> {
    const until = Date.now() + ms;
    let rounds = 0;
    while (Date.now() < until) {
      while (this.busy) await new Promise((resolve) => setImmediate(resolve));
      await this.round();
      rounds += 1;
      // A round answered from a local cache, or failed before any I/O, completes in microtasks: without
      // this the loop would starve the event loop (and every child process' pipe) for the whole burst.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return rounds;
  }

  private async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const ids = [...this.advertiserIds, NEVER_SEEN];
    const startedAtMs = Date.now();
    try {
      this.stats.rounds += 1;
      await Promise.all(this.clients.map((c) => this.lookup(c, ids)));
    } finally {
      this.stats.slowestRoundMs = Math.max(this.stats.slowestRoundMs, Date.now() - startedAtMs);
      this.busy = false;
    }
  }

  private async lookup(probe: ProbeClient, ids: string[]): Promise<void> {
    let answers: Map<string, boolean>;
    let states: Map<string, ServingState | null>;
    try {
      answers = await probe.client.canServeMany(ids);
      states = await probe.client.getMany(ids);
    } catch (error) {
      const now = Date.now();
      noteFailure(this.stats, error instanceof Error ? error.message : String(error));
      this.stats.errors += ids.length;
      this.stats.firstErrorAtMs ??= now;
      this.stats.lastErrorAtMs = now;
      return;
    }
    for (const id of ids) {
      this.stats.answered += 1;
      const answer = answers.get(id);
      const state = states.get(id) ?? null;
      if (id === NEVER_SEEN) {
        if (answer !== probe.serveWhenUnknown || state !== null)
          this.wrong(`${probe.name}: never-seen advertiser answered ${String(answer)}`);
        continue;
      }
      if (state === null) {
        this.stats.unknown += 1;
        continue;
      }
      const problem = this.valid.check(state);
      if (problem !== null) this.wrong(`${probe.name}: ${problem}`);
    }
  }

  private wrong(problem: string): void {
    if (this.stats.wrong.length < 50) this.stats.wrong.push(problem);
  }

  async stop(): Promise<ProbeStats> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await sleep(20);
    await Promise.all(this.clients.map((c) => c.client.close().catch(() => undefined)));
    for (const redis of this.connections) redis.disconnect();
    return this.stats;
  }
}
