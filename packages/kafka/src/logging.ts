import { redact } from "@adpipe/config";
import { type LogEntry, type logCreator, logLevel } from "kafkajs";

/** The subset of a pino logger this package writes to (pino's Logger satisfies it). */
export interface LoggerLike {
  error(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  info(object: object, message?: string): void;
  debug(object: object, message?: string): void;
}

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
 * A kafkajs logCreator that routes kafkajs' logs through `logger` (e.g. pino), with secrets removed.
 * `secrets` are literal strings to remove besides the patterns redact() knows (pass the SASL password).
 */
export function kafkajsLogCreator(logger: LoggerLike, secrets: readonly string[] = []): logCreator {
  return () => (entry) => {
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
}
