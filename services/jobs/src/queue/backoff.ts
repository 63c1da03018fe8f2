/**
 * When a failed attempt runs again: min(maxMs, baseMs * 2^(attempt-1)), times a random factor in
 * [0.5, 1.5) so jobs that failed together do not retry together.
 */
export function retryDelayMs(
  attempt: number,
  backoff: { baseMs: number; maxMs: number },
  random = Math.random,
): number {
  const exponential = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.5 + random()));
}
