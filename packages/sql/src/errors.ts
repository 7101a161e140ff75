import { defineErrors } from "@adpipe/errors";

/** The codes a query registry raises its errors with (the caller's error class must accept both). */
export const QUERY_ERROR_CODES = ["query_not_found", "query_invalid"] as const;
export type QueryErrorCode = (typeof QUERY_ERROR_CODES)[number];

/** The error class a registry throws: the caller's own, so its errors carry the caller's package prefix. */
export type QueryErrorClass = new (
  code: QueryErrorCode,
  message: string,
  options?: { cause?: unknown },
) => Error;

/** For callers without an error class of their own (a service, the CLI). */
export class SqlError extends defineErrors("ADP_SQL", QUERY_ERROR_CODES) {}
