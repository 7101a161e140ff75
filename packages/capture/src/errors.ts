import { defineErrors } from "@adpipe/errors";

/** Every way reading Event Hubs Capture fails loudly. */
export const CAPTURE_ERROR_CODES = [
  /** The --source is not a directory or a Blob Storage URL we can use. */
  "invalid_source",
  /** The --path-format is not a Capture file name format. */
  "invalid_path_format",
  /** A file is not an Event Hubs Capture Avro file, is truncated, or holds a value that cannot be a Capture event. */
  "bad_file",
  /** A file's path does not say which partition (or event hub) it belongs to. */
  "unplaced_file",
  /** Listing or reading the source failed (network, permissions). Retrying later may help. */
  "source_failed",
] as const;
export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[number];

export class CaptureError extends defineErrors("ADP_CAPTURE", CAPTURE_ERROR_CODES) {}

export function isCaptureError(value: unknown): value is CaptureError {
  return value instanceof CaptureError;
}
