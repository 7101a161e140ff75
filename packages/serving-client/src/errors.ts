export const SERVING_CLIENT_ERROR_CODES = [
  "invalid_advertiser_id",
  "invalid_option",
  "malformed_state",
] as const;
export type ServingClientErrorCode = (typeof SERVING_CLIENT_ERROR_CODES)[number];

/** The one error class of @adpipe/serving-client. Redis errors are passed through unchanged. */
export class ServingClientError extends Error {
  override readonly name = "ServingClientError";
  readonly code: ServingClientErrorCode;

  constructor(code: ServingClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
