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

export class SupervisorError extends Error {
  override readonly name = "SupervisorError";
  readonly code: SupervisorErrorCode;

  constructor(code: SupervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
