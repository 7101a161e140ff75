import {
  type AheadOfPaceSource,
  AlertEvaluator,
  type AlertSenders,
  type DeliveryTarget,
  EVENT_ID_HEADER,
  OutboxDispatcher,
  webhookSender,
} from "@adpipe/alerts";
import {
  kafkaConnectionSecrets,
  redact,
  redactUrl,
  redisConnectionSecrets,
  urlPasswordSecrets,
} from "@adpipe/config";
import { createKafka, ensureTopic, WHOLE_SEND_PRODUCER } from "@adpipe/kafka";
import { createRedisClient } from "@adpipe/serving-client";
import { readAheadOfPace } from "@adpipe/spend-store";
import {
  backoffDelayMs,
  createLogger,
  createMetricsRegistry,
  type Logger,
  pauseUnlessAborted,
  ResourceStack,
} from "@adpipe/telemetry";
import { openServicePool, postgresReadiness } from "@adpipe/warehouse";
import type { AlerterConfig } from "./config.js";
import { createAlerterMetrics } from "./metrics.js";

export interface AlerterService {
  readonly logger: Logger;
  /** Resolves when both loops have ended (after stop()). */
  done(): Promise<void>;
  /** Finishes the passes in flight, then stops. */
  stop(): Promise<void>;
}

/** Builds the evaluator and the dispatcher from the configuration and starts both loops and the ops endpoints. */
export async function startAlerterService(config: AlerterConfig): Promise<AlerterService> {
  const secrets = [
    ...urlPasswordSecrets(config.DATABASE_URL),
    ...(config.ALERT_WEBHOOK_SECRET === undefined ? [] : [config.ALERT_WEBHOOK_SECRET]),
    ...(config.kafka === null ? [] : kafkaConnectionSecrets(config.kafka)),
    ...(config.redis === null ? [] : redisConnectionSecrets(config.redis)),
  ];
  const logger = createLogger({ service: "alerter", level: config.LOG_LEVEL, secrets });
  const resources = new ResourceStack(logger);
  try {
    const pool = await openServicePool(resources, {
      connectionString: config.DATABASE_URL,
      max: config.PG_POOL_MAX,
      applicationName: "adpipe-alerter",
      migrateOnStart: config.MIGRATE_ON_START,
    });
    const targets: DeliveryTarget[] = [];
    let kafkaSend: AlertSenders["kafka"] = async () => {
      throw new Error("Kafka delivery is off (ALERT_KAFKA=false)");
    };
    if (config.kafka !== null) {
      const kafka = createKafka(config.kafka, { logger });
      await ensureTopic(kafka, { topic: config.ALERT_TOPIC, partitions: 3 });
      const producer = kafka.producer({ ...WHOLE_SEND_PRODUCER, idempotent: false });
      await producer.connect();
      resources.defer("kafka producer", () => producer.disconnect());
      targets.push({ channel: "kafka", destination: config.ALERT_TOPIC });
      kafkaSend = async (topic, events) => {
        await producer.send({
          topic,
          acks: -1,
          messages: events.map((event) => ({
            key: event.advertiser_id,
            value: JSON.stringify(event),
            headers: { [EVENT_ID_HEADER]: event.event_id, "content-type": "application/json" },
          })),
        });
      };
    }
    for (const url of config.ALERT_WEBHOOK_URLS ?? []) targets.push({ channel: "webhook", destination: url });
    const webhook =
      config.ALERT_WEBHOOK_SECRET === undefined
        ? async () => {
            throw new Error("no ALERT_WEBHOOK_SECRET: webhook delivery is off");
          }
        : webhookSender({ secret: config.ALERT_WEBHOOK_SECRET, timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS });

    let aheadOfPace: AheadOfPaceSource | undefined;
    if (config.redis !== null) {
      const connection = config.redis;
      const redis = await resources.acquire(
        "redis",
        async () => {
          const client = createRedisClient(connection, {
            connectionName: "adpipe-alerter",
            lazyConnect: true,
          });
          client.on("error", (error: Error) =>
            logger.warn({ err: redact(error.message, secrets) }, "redis connection error"),
          );
          await client.connect();
          return client;
        },
        (client) => client.quit(),
      );
      const defaults = { period: config.BUDGET_PERIOD, timeZone: config.BUDGET_TIME_ZONE };
      aheadOfPace = () => readAheadOfPace(redis, config.REDIS_KEY_PREFIX, defaults);
    }
    const evaluator = new AlertEvaluator({
      ...(aheadOfPace === undefined ? {} : { aheadOfPace }),
      pool,
      targets,
      defaultThresholdsPct: config.ALERT_THRESHOLDS_PCT,
      budgetPeriod: config.BUDGET_PERIOD,
      timeZone: config.BUDGET_TIME_ZONE,
      lookbackPeriods: config.ALERT_LOOKBACK_PERIODS,
    });
    const dispatcher = new OutboxDispatcher({
      pool,
      senders: { kafka: kafkaSend, webhook },
      maxAttempts: config.ALERT_MAX_ATTEMPTS,
      initialRetryDelayMs: config.ALERT_RETRY_INITIAL_MS,
      maxRetryDelayMs: config.ALERT_RETRY_MAX_MS,
      leaseMs: Math.max(60_000, config.ALERT_WEBHOOK_TIMEOUT_MS * 3),
    });

    const registry = createMetricsRegistry("alerter");
    const metrics = createAlerterMetrics(registry);
    const lastError: Record<"evaluate" | "dispatch", unknown> = { evaluate: null, dispatch: null };
    await resources.opsServer({
      port: config.OPS_PORT,
      host: config.OPS_HOST,
      registry,
      logger,
      checks: {
        postgres: postgresReadiness(pool),
        evaluate: async () => {
          if (lastError.evaluate !== null) throw new Error("the last evaluation pass failed (see logs)");
        },
        dispatch: async () => {
          if (lastError.dispatch !== null) throw new Error("the last outbox pass failed (see logs)");
        },
      },
    });
    logger.info(
      {
        database: redactUrl(config.DATABASE_URL),
        topic: config.kafka === null ? null : config.ALERT_TOPIC,
        webhooks: (config.ALERT_WEBHOOK_URLS ?? []).map(redactUrl),
        thresholdsPct: config.ALERT_THRESHOLDS_PCT,
        period: config.BUDGET_PERIOD,
        timeZone: config.BUDGET_TIME_ZONE,
      },
      "alerter started",
    );

    const controller = new AbortController();
    const retry = { initialDelayMs: 1_000, maxDelayMs: 60_000 };
    const loop = async (name: "evaluate" | "dispatch", pass: () => Promise<number>): Promise<void> => {
      let failures = 0;
      while (!controller.signal.aborted) {
        let waitMs: number;
        try {
          const busy = await pass();
          lastError[name] = null;
          failures = 0;
          waitMs =
            busy > 0
              ? 0
              : name === "evaluate"
                ? config.ALERT_EVALUATE_INTERVAL_MS
                : config.ALERT_DISPATCH_INTERVAL_MS;
        } catch (error) {
          lastError[name] = error;
          metrics.failed(name);
          logger.error({ err: error }, `${name} pass failed`);
          failures++;
          waitMs = backoffDelayMs(failures, retry);
        }
        if (waitMs > 0) await pauseUnlessAborted(waitMs, controller.signal);
      }
    };
    const evaluating = loop("evaluate", async () => {
      const fired = await evaluator.evaluate();
      metrics.fired(fired);
      for (const alert of fired) logger.info({ ...alert }, "alert fired");
      // The evaluation waits its interval whatever it found: "busy" only shortens the dispatcher's wait.
      return 0;
    });
    let statusAt = 0;
    const dispatching = loop("dispatch", async () => {
      const report = await dispatcher.dispatchOnce();
      metrics.dispatched(report);
      if (report.dead > 0)
        logger.error(
          { dead: report.dead },
          "alert deliveries used every attempt and are dead: check the receivers, then see docs/alerts.md to resend",
        );
      // The backlog gauges every 5 s, not every pass: a pass may run every 100 ms.
      if (Date.now() - statusAt >= 5_000) {
        metrics.outbox(await dispatcher.status());
        statusAt = Date.now();
      }
      return report.claimed;
    });
    const done = Promise.all([evaluating, dispatching]).then(() => undefined);
    resources.defer("alert loops", async () => {
      controller.abort();
      await done;
    });
    return { logger, done: () => done, stop: () => resources.release() };
  } catch (error) {
    await resources.release();
    throw error;
  }
}
