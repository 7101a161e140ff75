import { type Logger as PinoLogger, pino } from "pino";

/** The logger createLogger builds, for the libraries that need pino itself (Fastify). */
export type { PinoLogger };

/**
 * What every package and service logs through: structured fields first, then the message. A pino logger fits
 * it, and so does a test's capture; libraries take this and never pino, so they write where the service logs.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** A logger that drops every line: the default of libraries whose caller passes none. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface LoggerOptions {
  /** Service name, added to every line as `service`. */
  service: string;
  /** pino level; defaults to LOG_LEVEL semantics handled by the caller, else "info". */
  level?: string;
  /**
   * Secrets that must never reach a log line (connection strings, tokens). Every string value
   * written is scrubbed of them, so a secret embedded in an error message is also hidden.
   */
  secrets?: readonly string[];
  /** Destination stream; stdout by default. Tests pass a memory stream. */
  destination?: NodeJS.WritableStream;
}

const REDACTED = "[redacted]";
/** header.payload.signature of a JWT, base64url. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** Paths that hold credentials in objects we log (config, kafkajs broker options). */
const SECRET_PATHS = [
  "password",
  "*.password",
  "*.*.password",
  "sasl.password",
  "connectionString",
  "*.connectionString",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
];

/** Structured JSON logger with secret redaction by path and by value. */
export function createLogger(options: LoggerOptions): PinoLogger {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 4);
  // Bearer tokens (JWTs) are not known in advance: a line that contains one loses it, whatever path it took.
  const scrub = (text: string): string =>
    secrets.reduce((out, secret) => out.split(secret).join(REDACTED), text).replace(JWT, REDACTED);
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: SECRET_PATHS, censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: scrub },
    },
    options.destination ?? process.stdout,
  );
}
