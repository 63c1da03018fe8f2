import type { DrillResult } from './drill-result';

/** 0 only when there were results and every one of them passed: a drill that did nothing fails. */
export function drillExitCode(results: DrillResult[]): 0 | 1 {
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}
