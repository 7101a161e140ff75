import { defineErrors } from "@adpipe/errors";

/** Why the local pipeline could not start or stopped. */
export const SUPERVISOR_ERROR_CODES = [
  "invalid_options",
  "not_built",
  "broker_unavailable",
  "infrastructure_unavailable",
  "service_failed",
  "not_ready",
] as const;
export type SupervisorErrorCode = (typeof SUPERVISOR_ERROR_CODES)[number];

export class SupervisorError extends defineErrors("ADP_SUPERVISOR", SUPERVISOR_ERROR_CODES) {}
