import { ApiError } from "./errors.js";

export type DependencyName = "redis" | "postgres" | "kafka";

/**
 * Runs a call to a backing service; a failure becomes a 503 that names the dependency (never its
 * message, which may contain hosts or credentials) and asks the client to retry shortly.
 */
export async function dependency<T>(name: DependencyName, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("dependency_unavailable", `${name} is unavailable, retry shortly`, {
      cause: error,
      retryAfterSeconds: 2,
      details: { dependency: name },
    });
  }
}
