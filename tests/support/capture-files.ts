/**
 * Event Hubs Capture files made from a generated stream, as Capture would write them: per partition (records split
 * by key like Kafka's producer), consecutive sequence numbers from the partition's first offset, one file per
 * 5-minute window of enqueued time (Capture closes a file within 15 minutes), in the default path format.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { captureFilePath, encodeCaptureFile } from "@adpipe/capture";
import type { GeneratedRecord } from "@adpipe/core";

const WINDOW_MS = 5 * 60_000;

/**
 * The committed fixture (tests/fixtures/event-hubs-capture): a small generated stream over two partitions, written
 * with EnqueuedTimeUtc only (whole seconds, .NET's invariant format) as Capture writes it. Made by
 * tests/tools/make-capture-fixture.ts; the replay test checks it still holds exactly this stream.
 */
export const CAPTURE_FIXTURE = {
  directory: "tests/fixtures/event-hubs-capture",
  stream: {
    seed: 2121,
    events: 400,
    advertisers: 6,
    startMs: Date.UTC(2026, 0, 5, 10, 0, 0),
    spanMs: 20 * 60_000,
  },
  tree: { hub: "ad-clicks", partitions: 2, enqueuedTimeProperty: false },
} as const;

export interface CaptureTreeOptions {
  readonly namespace?: string;
  readonly hub: string;
  readonly partitions: number;
  /** First sequence number per partition (default 0). */
  readonly firstSequence?: readonly number[];
  /** Also write x-opt-enqueued-time (ms); without it only EnqueuedTimeUtc (whole seconds) is written. Default true. */
  readonly enqueuedTimeProperty?: boolean;
  readonly codec?: "null" | "deflate";
}

export interface CapturedRecord {
  readonly record: GeneratedRecord;
  readonly partition: number;
  readonly sequenceNumber: number;
  /** What the replay reads as the record time (whole seconds without x-opt-enqueued-time). */
  readonly timestampMs: number;
}

export interface CaptureTree {
  /** Path (default format, relative) -> file bytes. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Every record with its place, in stream order. */
  readonly captured: readonly CapturedRecord[];
}

/** The partition a key goes to (the same rule as the lake tests' partitionRecords). */
export function partitionOfKey(key: string | null, partitions: number, roundRobin: number): number {
  return key === null
    ? roundRobin % partitions
    : [...key].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7) % partitions;
}

export async function captureTree(
  records: readonly GeneratedRecord[],
  options: CaptureTreeOptions,
): Promise<CaptureTree> {
  const withProperty = options.enqueuedTimeProperty !== false;
  const next = Array.from({ length: options.partitions }, (_, p) => options.firstSequence?.[p] ?? 0);
  const captured: CapturedRecord[] = [];
  let roundRobin = 0;
  for (const record of records) {
    const partition = partitionOfKey(record.key, options.partitions, record.key === null ? roundRobin++ : 0);
    const sequenceNumber = next[partition] ?? 0;
    next[partition] = sequenceNumber + 1;
    const timestampMs = withProperty ? record.timestampMs : record.timestampMs - (record.timestampMs % 1_000);
    captured.push({ record, partition, sequenceNumber, timestampMs });
  }
  const groups = new Map<string, CapturedRecord[]>();
  for (const entry of captured) {
    const windowStartMs = entry.record.timestampMs - (entry.record.timestampMs % WINDOW_MS);
    const path = captureFilePath({
      namespace: options.namespace ?? "adpipe-ns",
      eventHub: options.hub,
      partition: entry.partition,
      windowStartMs,
    });
    const group = groups.get(path);
    if (group === undefined) groups.set(path, [entry]);
    else group.push(entry);
  }
  const files = new Map<string, Buffer>();
  for (const [path, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    files.set(
      path,
      await encodeCaptureFile(
        group.map(({ record, sequenceNumber }) => ({
          sequenceNumber,
          enqueuedTimeMs: record.timestampMs,
          enqueuedTimeProperty: withProperty,
          kafkaKey: record.key,
          body: record.value,
        })),
        { codec: options.codec ?? "deflate" },
      ),
    );
  }
  return { files, captured };
}

export function writeCaptureTree(root: string, tree: CaptureTree): void {
  for (const [path, bytes] of tree.files) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }
}
