/** The API's refusals, read from its error body (pure: no DOM, no fetch; unit-tested). */

/** One field the API refused: `details` of a 400 answer. */
export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The error body's `code` (bad_request, unauthorized, rate_limited, ...), when the answer had one. */
    readonly code: string | null = null,
    readonly details: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** The `details` of an error body, as far as they are field problems. */
export function fieldProblems(details: unknown): FieldProblem[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d: unknown) => {
    if (typeof d !== "object" || d === null) return [];
    const { path, message } = d as { path?: unknown; message?: unknown };
    if (typeof message !== "string") return [];
    const parts = Array.isArray(path)
      ? path.filter((p): p is string | number => typeof p === "string" || typeof p === "number")
      : [];
    return [{ path: parts, message }];
  });
}

/**
 * What a person reads when the API refuses a change: the status, the API's own message and every field it
 * named, and what to do about a refused token.
 */
export function describeHttpError(error: HttpError): string {
  const fields = error.details.map((d) =>
    d.path.length === 0 ? d.message : `${d.path.join(".")}: ${d.message}`,
  );
  const text = `${error.message}${fields.length === 0 ? "" : ` (${fields.join("; ")})`}`;
  switch (error.status) {
    case 401:
      return `401 refused: ${text}. Check the write token (API_WRITE_TOKENS); a read token cannot change budgets.`;
    case 403:
      return `403 forbidden: ${text}`;
    case 400:
      return `400 rejected: ${text}`;
    default:
      return `${error.status}: ${text}`;
  }
}
