/**
 * Exit codes of `adpipe`, documented in docs/operations.md. Scripts and Kubernetes Jobs branch on them.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem (e.g. reconcile found a difference, counts found gaps). */
  failed: 1,
  /** Bad arguments or configuration: fix the invocation, retrying will not help. */
  usage: 2,
  /** A dependency (Kafka, Postgres, Redis) could not be reached: retrying later may help. */
  unavailable: 69,
  /** A bug: an unexpected error. */
  internal: 70,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
