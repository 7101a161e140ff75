import { redact } from "@adpipe/config";
import type { Logger } from "@adpipe/telemetry";
import { type LogEntry, type logCreator, logLevel } from "kafkajs";

function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === "string") return redact(value, secrets);
  if (depth > 3 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, secrets, depth + 1);
  return out;
}

/**
 * The fields of a kafkajs log entry, ready for a structured logger: secrets redacted from every string,
 * and `error`/`stack` kept as strings (kafkajs passes messages, not Error objects).
 */
export function kafkajsLogFields(
  entry: LogEntry,
  secrets: readonly string[] = [],
): { fields: object; message: string } {
  const { message, timestamp: _timestamp, ...extra } = entry.log;
  const fields = { kafkajs: entry.namespace, ...(redactValue(extra, secrets, 0) as object) };
  return { fields, message: redact(String(message), secrets) };
}

/**
 * Broker states that are expected for a moment (a broker or group coordinator starting, a leader election, a
 * rebalance) and that kafkajs retries by itself. Matched on kafkajs' and the broker's wording.
 */
const TRANSIENT_STATES: readonly { readonly state: string; readonly pattern: RegExp }[] = [
  {
    state: "group coordinator not available yet",
    pattern: /group coordinator is not available|GROUP_COORDINATOR_NOT_AVAILABLE/i,
  },
  {
    state: "group coordinator still loading",
    pattern: /coordinator is loading|COORDINATOR_LOAD_IN_PROGRESS/i,
  },
  { state: "group coordinator moved", pattern: /not the correct coordinator|NOT_COORDINATOR/i },
  {
    state: "partition leader not available yet",
    pattern: /no leader for this topic-partition|leadership election|LEADER_NOT_AVAILABLE/i,
  },
  { state: "partition leader moved", pattern: /not the leader for|NOT_LEADER/i },
  {
    state: "group rebalancing",
    pattern: /rebalanc(e|ing) in progress|REBALANCE_IN_PROGRESS|group is rebalancing/i,
  },
  { state: "group membership expired, re-joining", pattern: /not aware of this member/i },
  // Only in a metadata response, right after the topic was created; elsewhere it may mean a deleted topic.
  {
    state: "new topic not yet known to the broker",
    pattern: /^Response Metadata\(.*does not host this topic-partition/i,
  },
];

/**
 * The expected transient broker state a kafkajs log entry reports, or null. Only entries kafkajs writes while it
 * still retries count: a failed response ("Response <api>") and the consumer's own re-join notices; a crash or
 * an exhausted retry about the same state is a real error and stays one.
 */
export function transientBrokerState(entry: LogEntry): string | null {
  const message = String(entry.log.message);
  const retrying =
    (entry.namespace === "Connection" && message.startsWith("Response ")) ||
    /re-joining|resync group/.test(message);
  if (!retrying) return null;
  const text = `${message} ${typeof entry.log.error === "string" ? entry.log.error : ""}`;
  return TRANSIENT_STATES.find(({ pattern }) => pattern.test(text))?.state ?? null;
}

/** The same transient state is logged once per this interval; repeats in between go to debug. */
const TRANSIENT_REPEAT_MS = 10 * 60_000;

/**
 * A kafkajs logCreator that routes kafkajs' logs through `logger` (e.g. pino), with secrets removed.
 * `secrets` are literal strings to remove besides the patterns redact() knows (pass the SASL password).
 * Expected transient broker states (see transientBrokerState) become one INFO line, once per state and ten
 * minutes, without kafkajs' error fields: they are not failures, and at start-up they would bury real ones.
 */
export function kafkajsLogCreator(
  logger: Logger,
  secrets: readonly string[] = [],
  clock: () => number = Date.now,
): logCreator {
  return (configuredLevel) => {
    const lastLogged = new Map<string, { atMs: number; repeats: number }>();
    return (entry) => {
      const state = transientBrokerState(entry);
      if (state !== null) {
        const now = clock();
        const seen = lastLogged.get(state);
        const { fields } = kafkajsLogFields(entry, secrets);
        if (seen !== undefined && now - seen.atMs < TRANSIENT_REPEAT_MS) {
          seen.repeats++;
          if (configuredLevel >= logLevel.DEBUG) logger.debug(fields, `Kafka: ${state} (retrying)`);
          return;
        }
        lastLogged.set(state, { atMs: now, repeats: 0 });
        if (configuredLevel < logLevel.INFO) return;
        const f = fields as { kafkajs?: unknown; broker?: unknown; groupId?: unknown };
        logger.info(
          {
            kafkajs: f.kafkajs,
            ...(f.broker === undefined ? {} : { broker: f.broker }),
            ...(f.groupId === undefined ? {} : { groupId: f.groupId }),
            ...(seen === undefined || seen.repeats === 0 ? {} : { repeatsSinceLastLine: seen.repeats }),
          },
          `Kafka: ${state} (expected while a broker starts or a group rebalances; kafkajs retries)`,
        );
        return;
      }
      const { fields, message } = kafkajsLogFields(entry, secrets);
      switch (entry.level) {
        case logLevel.ERROR:
          logger.error(fields, message);
          break;
        case logLevel.WARN:
          logger.warn(fields, message);
          break;
        case logLevel.INFO:
          logger.info(fields, message);
          break;
        default:
          logger.debug(fields, message);
      }
    };
  };
}
