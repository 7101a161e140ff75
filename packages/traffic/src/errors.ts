import { defineErrors } from "@adpipe/errors";

/** Why a simulation could not run or stopped. */
export const SIMULATOR_ERROR_CODES = [
  "invalid_options",
  "send_failed",
  "sink_unavailable",
  "worker_failed",
] as const;
export type SimulatorErrorCode = (typeof SIMULATOR_ERROR_CODES)[number];

export class SimulatorError extends defineErrors("ADP_TRAFFIC", SIMULATOR_ERROR_CODES) {}

export function isSimulatorError(error: unknown): error is SimulatorError {
  return error instanceof SimulatorError;
}
