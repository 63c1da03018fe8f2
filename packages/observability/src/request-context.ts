import { AsyncLocalStorage } from 'node:async_hooks';

/** What a service knows about the request it is handling, carried across awaits without threading it through calls. */
export interface RequestContext {
  requestId: string;
}

// AsyncLocalStorage rather than a module-level variable: concurrent requests interleave at every await,
// and each must keep seeing its own id.
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` so that everything it starts, synchronously or asynchronously, sees this request's context. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return requestContext.run(context, fn);
}

/** The id of the request being handled, or undefined outside a request (startup, background jobs). */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}
