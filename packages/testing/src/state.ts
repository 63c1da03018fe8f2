/** What globalSetup started, kept on the jest parent process's global for globalTeardown. */
export interface HarnessState {
  runId: string;
  cleanups: (() => Promise<void>)[];
}

const KEY = Symbol.for('tenantmesh.test-harness');

export function setHarnessState(state: HarnessState): void {
  (globalThis as Record<symbol, unknown>)[KEY] = state;
}

export function takeHarnessState(): HarnessState | undefined {
  const state = (globalThis as Record<symbol, unknown>)[KEY] as HarnessState | undefined;
  delete (globalThis as Record<symbol, unknown>)[KEY];
  return state;
}
