/** The codes a query registry raises its errors with (the caller's error class must accept both). */
export type QueryErrorCode = "query_not_found" | "query_invalid";

/** The error class a registry throws: the caller's own, so its errors carry the caller's package prefix. */
export type QueryErrorClass = new (
  code: QueryErrorCode,
  message: string,
  options?: { cause?: unknown },
) => Error;

/** For callers without an error class of their own (a service, the CLI). */
export class SqlError extends Error {
  override readonly name = "SqlError";
  readonly code: QueryErrorCode;

  constructor(code: QueryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
