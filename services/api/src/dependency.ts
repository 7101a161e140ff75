import { ApiError } from "./errors.js";

export type DependencyName = "redis" | "postgres" | "kafka";

export interface DependencyOptions {
  /**
   * The request values that reach the database, by field path (e.g. `{ note: request.body.note }`). A Postgres
   * data error (SQLSTATE class 22: a value out of range, a character the encoding cannot hold) is then the
   * caller's mistake, answered 400 naming the field, not an outage.
   */
  readonly inputs?: Readonly<Record<string, unknown>>;
}

/** SQLSTATE class 22, "data exception": the statement failed because of a value, not because Postgres is away. */
function isPostgresDataError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && /^22[0-9A-Z]{3}$/.test(code);
}

/** The fields whose value Postgres quoted in its message; every given field when it quoted none of them. */
function offendingFields(message: string, inputs: Readonly<Record<string, unknown>>): string[] {
  const given = Object.entries(inputs).filter(([, value]) => value !== undefined && value !== null);
  const quoted = given.filter(([, value]) => message.includes(`"${String(value)}"`)).map(([field]) => field);
  return quoted.length > 0 ? quoted : given.map(([field]) => field);
}

/**
 * Runs a call to a backing service; a failure becomes a 503 that names the dependency (never its
 * message, which may contain hosts or credentials) and asks the client to retry shortly. A Postgres
 * data error caused by request values (options.inputs) is a 400 naming the field instead.
 */
export async function dependency<T>(
  name: DependencyName,
  call: () => Promise<T>,
  options: DependencyOptions = {},
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (name === "postgres" && options.inputs !== undefined && isPostgresDataError(error)) {
      throw new ApiError(
        "bad_request",
        "a value of the request cannot be stored or compared by the database",
        {
          cause: error,
          details: offendingFields(error.message, options.inputs).map((field) => ({
            path: field.split("."),
            message: "invalid_value",
          })),
        },
      );
    }
    throw new ApiError("dependency_unavailable", `${name} is unavailable, retry shortly`, {
      cause: error,
      retryAfterSeconds: 2,
      details: { dependency: name },
    });
  }
}
