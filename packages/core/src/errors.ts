import { defineErrors } from "@adpipe/errors";

/** Every way a core function can fail loudly (parseEvent never does: it reports findings instead). */
export const CORE_ERROR_CODES = [
  "unsafe_integer",
  "invalid_money",
  "invalid_time",
  "invalid_time_zone",
  "invalid_period",
  "invalid_options",
  "invalid_pacing",
] as const;
export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

export class CoreError extends defineErrors("ADP_CORE", CORE_ERROR_CODES) {}

export function isCoreError(value: unknown): value is CoreError {
  return value instanceof CoreError;
}
