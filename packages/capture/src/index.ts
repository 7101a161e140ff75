export {
  CAPTURE_SCHEMA,
  type CaptureEvent,
  type CaptureEventInput,
  type CapturePropertyValue,
  encodeCaptureFile,
  formatEnqueuedTimeUtc,
  parseEnqueuedTimeUtc,
  readCaptureEvents,
} from "./avro.js";
export { CAPTURE_ERROR_CODES, CaptureError, type CaptureErrorCode, isCaptureError } from "./errors.js";
export {
  type CapturePathMatcher,
  type CapturePlacement,
  captureFilePath,
  capturePathMatcher,
  DEFAULT_CAPTURE_PATH_FORMAT,
} from "./path-format.js";
export {
  type CaptureRecord,
  type CaptureReplayPlan,
  captureRecord,
  type PlannedCaptureFile,
  planCaptureReplay,
} from "./plan.js";
export {
  type CaptureFileInfo,
  type CaptureSource,
  type OpenCaptureSourceOptions,
  openCaptureSource,
  parseBlobUrl,
} from "./source.js";
