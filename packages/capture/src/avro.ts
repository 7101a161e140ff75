import type { Readable } from "node:stream";
import avro from "avsc";
import { CaptureError } from "./errors.js";

/**
 * The Avro schema Event Hubs Capture writes (documented by Microsoft: "Exploring the captured files"). Map and union
 * values are read "wrapped" ({ long: 1 }, { string: "x" }, { bytes: <Buffer> }) so long and double stay apart.
 */
export const CAPTURE_SCHEMA = {
  type: "record",
  name: "EventData",
  namespace: "Microsoft.ServiceBus.Messaging",
  fields: [
    { name: "SequenceNumber", type: "long" },
    { name: "Offset", type: "string" },
    { name: "EnqueuedTimeUtc", type: "string" },
    { name: "SystemProperties", type: { type: "map", values: ["long", "double", "string", "bytes"] } },
    { name: "Properties", type: { type: "map", values: ["long", "double", "string", "bytes", "null"] } },
    { name: "Body", type: ["null", "bytes"] },
  ],
} as const;

const REQUIRED_FIELDS = CAPTURE_SCHEMA.fields.map((field) => field.name);

/** A property value as Capture stores it: one of the union's branches. */
export type CapturePropertyValue = number | string | Buffer | null;

/** One captured event, as decoded. */
export interface CaptureEvent {
  /** The event's sequence number in its partition: the Kafka offset Event Hubs' Kafka endpoint reports for it. */
  readonly sequenceNumber: bigint;
  /** Event Hubs' opaque offset (not the Kafka offset). */
  readonly offset: string;
  /** When Event Hubs enqueued the event, epoch ms: the record timestamp Kafka consumers see. */
  readonly enqueuedTimeMs: number;
  /** The Kafka record key (x-opt-kafka-key), else the AMQP partition key (x-opt-partition-key), else null. */
  readonly key: Buffer | null;
  readonly body: Buffer | null;
  readonly systemProperties: Readonly<Record<string, CapturePropertyValue>>;
  readonly properties: Readonly<Record<string, CapturePropertyValue>>;
}

/** A value written to a Capture file (tests and tools). */
export interface CaptureEventInput {
  readonly sequenceNumber: number | bigint;
  readonly offset?: string;
  readonly enqueuedTimeMs: number;
  /** Also record x-opt-enqueued-time (epoch ms) in SystemProperties, as newer captures do. Default true. */
  readonly enqueuedTimeProperty?: boolean;
  readonly kafkaKey?: Buffer | string | null;
  readonly partitionKey?: string | null;
  readonly body: Buffer | Uint8Array | string | null;
  readonly properties?: Readonly<Record<string, string | number>>;
}

function wrappedType(schema: unknown) {
  return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: true });
}

function unwrap(value: unknown): CapturePropertyValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "object" && !Buffer.isBuffer(value)) {
    const [branch] = Object.values(value as Record<string, unknown>);
    return branch === undefined ? null : unwrap(branch);
  }
  if (typeof value === "number" || typeof value === "string" || Buffer.isBuffer(value)) return value;
  return String(value);
}

function unwrapMap(map: unknown): Record<string, CapturePropertyValue> {
  const out: Record<string, CapturePropertyValue> = {};
  if (map !== null && typeof map === "object") {
    for (const [key, value] of Object.entries(map as Record<string, unknown>)) out[key] = unwrap(value);
  }
  return out;
}

const US_DATE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))? ?(AM|PM)?$/i;

/**
 * EnqueuedTimeUtc as Capture writes it: .NET's invariant "M/d/yyyy h:mm:ss tt" (e.g. "9/15/2025 6:04:20 PM",
 * whole seconds) — or ISO 8601 from other writers. UTC either way. NaN when it is neither.
 */
export function parseEnqueuedTimeUtc(text: string): number {
  const us = US_DATE_TIME.exec(text.trim());
  if (us !== null) {
    const [, month, day, year, hour, minute, second, fraction, meridiem] = us;
    let h = Number(hour);
    if (meridiem !== undefined) {
      if (h < 1 || h > 12) return Number.NaN;
      h = (h % 12) + (meridiem.toUpperCase() === "PM" ? 12 : 0);
    }
    const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1_000);
    const time = Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      h,
      Number(minute),
      Number(second),
      ms,
    );
    const check = new Date(time);
    // Reject overflowed fields (13/45/2025): Date.UTC would roll them over silently.
    return check.getUTCMonth() === Number(month) - 1 && check.getUTCDate() === Number(day)
      ? time
      : Number.NaN;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
    return Date.parse(text.trim());
  }
  return Number.NaN;
}

function enqueuedTimeOf(systemProperties: Record<string, CapturePropertyValue>, utc: string): number {
  const property = systemProperties["x-opt-enqueued-time"];
  if (typeof property === "number" && Number.isFinite(property)) return property;
  if (typeof property === "string") {
    const parsed = parseEnqueuedTimeUtc(property);
    if (Number.isFinite(parsed)) return parsed;
  }
  return parseEnqueuedTimeUtc(utc);
}

function keyOf(systemProperties: Record<string, CapturePropertyValue>): Buffer | null {
  for (const name of ["x-opt-kafka-key", "x-opt-partition-key"]) {
    const value = systemProperties[name];
    if (Buffer.isBuffer(value)) return value;
    if (typeof value === "string") return Buffer.from(value, "utf8");
  }
  return null;
}

function toEvent(value: Record<string, unknown>, file: string, index: number): CaptureEvent {
  const fail = (message: string): never => {
    throw new CaptureError("bad_file", `${file}: event #${index}: ${message}`);
  };
  const sequence = value.SequenceNumber;
  if (typeof sequence !== "number" || !Number.isSafeInteger(sequence) || sequence < 0) {
    fail(`SequenceNumber ${String(sequence)} is not a sequence number`);
  }
  const systemProperties = unwrapMap(value.SystemProperties);
  const utc = typeof value.EnqueuedTimeUtc === "string" ? value.EnqueuedTimeUtc : "";
  const enqueuedTimeMs = enqueuedTimeOf(systemProperties, utc);
  if (!Number.isFinite(enqueuedTimeMs)) fail(`EnqueuedTimeUtc ${JSON.stringify(utc)} is not a time`);
  const body = unwrap(value.Body);
  return {
    sequenceNumber: BigInt(sequence as number),
    offset: String(value.Offset ?? ""),
    enqueuedTimeMs,
    key: keyOf(systemProperties),
    body: Buffer.isBuffer(body) ? body : body === null ? null : Buffer.from(String(body), "utf8"),
    systemProperties,
    properties: unwrapMap(value.Properties),
  };
}

/**
 * Decodes one Capture file (an Avro object container file; null and deflate codecs) event by event without holding
 * the file in memory. Anything that is not a Capture file — another schema, not Avro, truncated — fails with
 * CaptureError("bad_file") naming `file`.
 */
export async function* readCaptureEvents(input: Readable, file: string): AsyncGenerator<CaptureEvent> {
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (schema: avro.Schema) => wrappedType(schema),
  });
  let failure: unknown = null;
  let headerSeen = false;
  decoder.on("metadata", (type: avro.Type) => {
    headerSeen = true;
    const fields = ((type as unknown as { fields?: { name: string }[] }).fields ?? []).map((f) => f.name);
    const missing = REQUIRED_FIELDS.filter((name) => !fields.includes(name));
    if (missing.length > 0) {
      failure = new CaptureError(
        "bad_file",
        `${file}: not an Event Hubs Capture file: its Avro schema lacks ${missing.join(", ")}`,
      );
      decoder.destroy(failure as Error);
    }
  });
  input.on("error", (error) => {
    failure ??= error;
    decoder.destroy(error);
  });
  input.pipe(decoder);
  let index = 0;
  try {
    for await (const value of decoder) {
      index += 1;
      yield toEvent(value as Record<string, unknown>, file, index);
    }
  } catch (error) {
    const cause = failure ?? error;
    if (cause instanceof CaptureError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CaptureError(
      "bad_file",
      `${file}: cannot be read as an Event Hubs Capture (Avro) file after ${index} events: ${reason}`,
      { cause },
    );
  } finally {
    input.unpipe(decoder);
    if (!input.destroyed) input.destroy();
  }
  if (failure !== null) {
    throw failure instanceof CaptureError
      ? failure
      : new CaptureError(
          "bad_file",
          `${file}: ${failure instanceof Error ? failure.message : String(failure)}`,
        );
  }
  // avsc ends quietly on input that stops inside the header or inside a block: a truncated upload or copy would
  // otherwise lose its last events without a word. Its tap holds the bytes it could not use yet.
  if (!headerSeen) {
    throw new CaptureError(
      "bad_file",
      `${file}: not an Event Hubs Capture (Avro) file: it ends before its header`,
    );
  }
  const tap = (decoder as unknown as { _tap?: { buf: Buffer; pos: number } })._tap;
  const leftover = tap === undefined ? 0 : tap.buf.length - tap.pos;
  if (leftover > 0) {
    throw new CaptureError(
      "bad_file",
      `${file}: truncated: ${leftover} bytes after the last complete block (${index} events read); ` +
        "the file was cut short (an interrupted copy?): restore it from the capture and run again",
    );
  }
}

/** Writes events as an Event Hubs Capture file (tests, fixtures, tools). */
export async function encodeCaptureFile(
  events: readonly CaptureEventInput[],
  options: { codec?: "null" | "deflate" } = {},
): Promise<Buffer> {
  const type = wrappedType(CAPTURE_SCHEMA);
  // writeHeader "always": an empty capture window is still a file with a header, as Capture writes it.
  const encoder = new avro.streams.BlockEncoder(type, {
    codec: options.codec ?? "deflate",
    writeHeader: "always",
  } as Partial<avro.EncoderOptions>);
  const chunks: Buffer[] = [];
  encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    encoder.on("end", resolve);
    encoder.on("error", reject);
  });
  for (const event of events) {
    const system: Record<string, unknown> = {
      "x-opt-sequence-number": { long: Number(event.sequenceNumber) },
      "x-opt-offset": { string: event.offset ?? String(Number(event.sequenceNumber) * 512) },
    };
    if (event.enqueuedTimeProperty !== false) system["x-opt-enqueued-time"] = { long: event.enqueuedTimeMs };
    if (event.kafkaKey !== undefined && event.kafkaKey !== null) {
      system["x-opt-kafka-key"] = { bytes: Buffer.from(event.kafkaKey) };
    }
    if (event.partitionKey !== undefined && event.partitionKey !== null) {
      system["x-opt-partition-key"] = { string: event.partitionKey };
    }
    const properties: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(event.properties ?? {})) {
      properties[name] = typeof value === "number" ? { long: value } : { string: value };
    }
    encoder.write({
      SequenceNumber: Number(event.sequenceNumber),
      Offset: event.offset ?? String(Number(event.sequenceNumber) * 512),
      EnqueuedTimeUtc: formatEnqueuedTimeUtc(event.enqueuedTimeMs),
      SystemProperties: system,
      Properties: properties,
      Body: event.body === null ? null : { bytes: Buffer.from(event.body) },
    });
  }
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** .NET's invariant "M/d/yyyy h:mm:ss tt", as Capture writes EnqueuedTimeUtc (whole seconds). */
export function formatEnqueuedTimeUtc(ms: number): string {
  const d = new Date(ms);
  const hour = d.getUTCHours();
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ` +
    `${hour % 12 === 0 ? 12 : hour % 12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${hour < 12 ? "AM" : "PM"}`
  );
}
