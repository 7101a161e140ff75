import type { CaptureEvent } from "./avro.js";
import { CaptureError } from "./errors.js";
import type { CapturePathMatcher, CapturePlacement } from "./path-format.js";
import type { CaptureFileInfo } from "./source.js";

/**
 * Events of a capture window were enqueued after the window's start and before it closed: Capture closes a file
 * after at most 15 minutes. Files whose window started more than this before --from cannot hold events in range.
 */
const MAX_CAPTURE_WINDOW_MS = 15 * 60_000;

/** A file to read, and where its events go. */
export interface PlannedCaptureFile extends CaptureFileInfo {
  readonly placement: CapturePlacement;
}

export interface CaptureReplayPlan {
  /** In (partition, path) order: each partition's events in sequence order. */
  readonly files: readonly PlannedCaptureFile[];
  readonly bytes: number;
  /** Files of other event hubs under the source (their {EventHub} differs from the topic). */
  readonly otherHubs: number;
  /** Files whose capture window cannot overlap [from, to). */
  readonly outsideRange: number;
}

/**
 * Which files of a listing to read for [fromMs, toMs) of event hub `topic`. Every `.avro` file must match the path
 * format (a file we cannot place is an error, not something to skip silently).
 */
export function planCaptureReplay(
  listing: readonly CaptureFileInfo[],
  options: { matcher: CapturePathMatcher; topic: string; fromMs: number; toMs: number; pathFormat: string },
): CaptureReplayPlan {
  const files: PlannedCaptureFile[] = [];
  let otherHubs = 0;
  let outsideRange = 0;
  const unplaced: string[] = [];
  for (const file of listing) {
    const placement = options.matcher(file.path);
    if (placement === null) {
      unplaced.push(file.path);
      continue;
    }
    if (
      placement.eventHub !== undefined &&
      placement.eventHub.toLowerCase() !== options.topic.toLowerCase()
    ) {
      otherHubs += 1;
      continue;
    }
    const start = placement.windowStartMs;
    if (start !== undefined && (start >= options.toMs || start < options.fromMs - MAX_CAPTURE_WINDOW_MS)) {
      outsideRange += 1;
      continue;
    }
    files.push({ ...file, placement });
  }
  if (unplaced.length > 0) {
    throw new CaptureError(
      "unplaced_file",
      `${unplaced.length} file(s) do not match --path-format ${options.pathFormat}, e.g. ${unplaced[0]}: ` +
        "give the capture's file name format (Azure: the event hub's Capture settings) or point --source lower",
    );
  }
  files.sort((a, b) =>
    a.placement.partition !== b.placement.partition
      ? a.placement.partition - b.placement.partition
      : a.path < b.path
        ? -1
        : a.path > b.path
          ? 1
          : 0,
  );
  return { files, bytes: files.reduce((sum, f) => sum + f.size, 0), otherHubs, outsideRange };
}

/** A Capture event as the Kafka record Event Hubs' Kafka endpoint delivered: offset = sequence number. */
export interface CaptureRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export function captureRecord(event: CaptureEvent, topic: string, partition: number): CaptureRecord {
  return {
    topic,
    partition,
    offset: event.sequenceNumber.toString(),
    timestampMs: event.enqueuedTimeMs,
    key: event.key,
    value: event.body,
  };
}
