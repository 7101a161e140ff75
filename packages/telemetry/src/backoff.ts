export interface BackoffOptions {
  /** Delay before the first retry. Default 1 s. */
  initialDelayMs?: number;
  /** Upper bound of a delay. Default 30 s. */
  maxDelayMs?: number;
  /**
   * Delays are spread by ±this fraction, so a fleet does not retry in lockstep. Default 0.2; 0 gives the exact
   * doubling a single process waiting on a dependency can use.
   */
  jitter?: number;
}

/**
 * The pipeline's one backoff. Delay before retry number `attempt` (1-based): exponential from initialDelayMs,
 * capped at maxDelayMs, spread by ±jitter using `random` (a number in [0, 1)). Never negative, never above
 * maxDelayMs.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 30_000;
  const jitter = options.jitter ?? 0.2;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(initial * 2 ** exponent, max);
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.min(Math.max(base + spread, 0), max));
}
