/** Every error the API answers with has one of these codes; clients switch on `error.code`. */
export const API_ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "request_timeout",
  "payload_too_large",
  "uri_too_long",
  "unsupported_media_type",
  "unprocessable",
  "rate_limited",
  "headers_too_large",
  "dependency_unavailable",
  "internal_error",
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

const STATUS_BY_CODE: Record<ApiErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  dependency_unavailable: 503,
  internal_error: 500,
};

export interface ApiErrorOptions {
  cause?: unknown;
  /** Machine-readable detail safe to show a client (validation issues, which dependency failed). */
  details?: unknown;
  /** Seconds a client should wait before retrying (429, 503): sent as Retry-After. */
  retryAfterSeconds?: number;
  /** Response headers that belong to the error (WWW-Authenticate on 401). */
  headers?: Readonly<Record<string, string>>;
}

/** The one error class of the API: its message is always safe to send to a client. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  readonly details: unknown;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ApiErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.statusCode = STATUS_BY_CODE[code];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

export function apiErrorCodeForStatus(status: number): ApiErrorCode {
  const found = API_ERROR_CODES.find((code) => STATUS_BY_CODE[code] === status);
  if (found) return found;
  return status >= 500 ? "internal_error" : "bad_request";
}
