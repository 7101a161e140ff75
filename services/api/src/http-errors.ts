import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { ApiError, apiErrorCodeForStatus } from "./errors.js";

/** Messages for fastify's own request errors: fixed text, so no input is ever echoed back. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "request body is larger than this endpoint accepts",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported content-type: send application/json",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "content-length does not match the body",
  FST_ERR_CTP_EMPTY_JSON_BODY: "request body is empty but content-type is application/json",
  FST_ERR_CTP_INVALID_JSON_BODY: "request body is not valid JSON",
  FST_ERR_VALIDATION: "request does not match the schema",
};

interface HasStatus {
  statusCode?: unknown;
  code?: unknown;
}

/**
 * Turns anything thrown while handling a request into an ApiError whose message is safe to send.
 * Unknown errors become a generic 500 (the caller logs the original); nothing leaks a stack trace.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? "request";
    return new ApiError("bad_request", `invalid ${where}`, {
      cause: error,
      details: error.validation.map((issue) => ({
        in: where,
        path: issue.instancePath.split("/").filter((part) => part !== ""),
        message: issue.message ?? "invalid",
      })),
    });
  }
  const { statusCode, code } = (typeof error === "object" && error !== null ? error : {}) as HasStatus;
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    const message =
      (typeof code === "string" ? FASTIFY_MESSAGES[code] : undefined) ?? "the request could not be processed";
    // JSON.parse errors carry statusCode 400 but no fastify code.
    const text = error instanceof SyntaxError ? FASTIFY_MESSAGES.FST_ERR_CTP_INVALID_JSON_BODY! : message;
    return new ApiError(apiErrorCodeForStatus(statusCode), text, { cause: error });
  }
  return new ApiError("internal_error", "internal error", { cause: error });
}

export function errorBody(
  error: ApiError,
  requestId: string,
): {
  error: { code: string; message: string; request_id: string; details?: unknown };
} {
  return {
    error: {
      code: error.code,
      message: error.message,
      request_id: requestId,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}
