import { ConfigError, kafkaConnectionFromEnv, loadEnv, type RedisConnection } from "@adpipe/config";
import { SpendStore, SpendStoreError, withRebuildLock } from "@adpipe/spend-store";
import { rebuildState, type StoreSyncEnv, storeSyncEnvSchema } from "@adpipe/store-sync";
import { SingleBar } from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import { EXIT } from "../exit-codes.js";
import { connectRedis, redisFromEnv } from "./redis-support.js";
import { CommandFailure, withWarehouse } from "./warehouse-support.js";

const SOURCES = ["warehouse", "replay"] as const;
type Source = (typeof SOURCES)[number];

interface RealtimeEnv {
  readonly redis: RedisConnection;
  readonly topic: string;
  readonly store: StoreSyncEnv;
}

/** REDIS_URL or REDIS_CLUSTER_NODES, the topic (KAFKA_TOPIC or the Event Hubs EntityPath), the spend-store settings. */
export function realtimeEnv(): RealtimeEnv {
  const redis = redisFromEnv();
  try {
    const store = loadEnv(storeSyncEnvSchema);
    return { redis, topic: kafkaConnectionFromEnv().topic, store };
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandFailure(error.message, EXIT.usage, { cause: error });
    throw error;
  }
}

/** Connects to Redis for one command (failing fast with exit 69), always disconnects. */
export async function withSpendStore<T>(
  work: (store: SpendStore, env: RealtimeEnv) => Promise<T>,
): Promise<T> {
  const env = realtimeEnv();
  const redis = await connectRedis(env.redis);
  try {
    const store = new SpendStore({
      redis,
      topic: env.topic,
      prefix: env.store.REDIS_KEY_PREFIX,
      budgetPeriod: env.store.BUDGET_PERIOD,
      timeZone: env.store.BUDGET_TIME_ZONE,
      dedupHorizonMs: env.store.DEDUP_HORIZON_MS,
      reservationHoldMs: env.store.RESERVATION_HOLD_MS,
    });
    await store.loadScripts();
    return await work(store, env);
  } finally {
    redis.disconnect();
  }
}

function parseSource(value: string): Source {
  if (!(SOURCES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected ${SOURCES.join(" or ")}`);
  return value as Source;
}

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError("expected milliseconds (a whole number >= 0)");
  return n;
}

/** Progress on a terminal: a bar; otherwise a plain line every 10 %. */
function progressReporter(stream: NodeJS.WriteStream): {
  update: (done: number, total: number) => void;
  stop: () => void;
} {
  if (stream.isTTY === true) {
    const bar = new SingleBar(
      {
        format: "rebuild-redis [{bar}] {percentage}% | {value}/{total} advertisers | {duration_formatted}",
        stream,
      },
      undefined,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else bar.update(done);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  return {
    update(done, total) {
      const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`rebuild-redis: ${done}/${total} advertisers\n`);
      }
    },
    stop: () => undefined,
  };
}

/**
 * `adpipe rebuild-redis`: rebuilds every advertiser hash of the current budget period from Postgres (Silver
 * totals and click_ids at the ingestor's offsets) and records those offsets for the tracker to resume from.
 * Safe while trackers run: they see the sentinel disappear, wait for the rebuild lock, then seek to the new
 * offsets (their own writes in between are refused by the new epoch or read again).
 */
export function register(program: Command): void {
  program
    .command("rebuild-redis")
    .description(
      "Rebuild the real-time Redis state (spend, budgets, dedup sets, can_serve) for the current budget period from Postgres",
    )
    .option(
      "--source <source>",
      "warehouse (Postgres Silver) or replay (re-read the topic from its start)",
      parseSource,
      "warehouse",
    )
    .option("--wait-lock <ms>", "wait this long for a rebuild already running elsewhere", parseMs, 30_000)
    .action(async (options: { source: Source; waitLock: number }) => {
      await withSpendStore(async (store, env) => {
        const progress = progressReporter(process.stderr);
        const run = async (source: Parameters<typeof rebuildState>[1]) => {
          try {
            return await withRebuildLock(store, () => rebuildState(store, source, progress.update), {
              waitMs: options.waitLock,
            });
          } finally {
            progress.stop();
          }
        };
        const outcome =
          options.source === "replay"
            ? await run({ kind: "replay" })
            : await withWarehouse((pool) =>
                run({ kind: "warehouse", pool, pipeline: env.store.WAREHOUSE_PIPELINE }),
              );
        console.log(
          `rebuilt ${outcome.advertisers} advertisers (${outcome.clickIds} click_ids) for period ${outcome.period} ` +
            `from ${outcome.source}; epoch ${outcome.epoch}; ${outcome.deletedKeys} old keys removed`,
        );
      }).catch((error: unknown) => {
        if (error instanceof CommandFailure) throw error;
        const code =
          error instanceof SpendStoreError && error.code === "ADP_SPEND_STORE_REBUILD_FAILED"
            ? EXIT.failed
            : EXIT.internal;
        throw new CommandFailure(
          `rebuild-redis failed: ${error instanceof Error ? error.message : String(error)}`,
          code,
          {
            cause: error,
          },
        );
      });
    });
}
