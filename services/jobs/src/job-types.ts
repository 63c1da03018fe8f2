import type { Readable } from 'node:stream';
import type { Database } from '@tenantmesh/db';
import type { Logger } from '@tenantmesh/observability';
import type { z } from 'zod';

/** One object in a user's file namespace, as the files service lists it. */
export interface FileObject {
  name: string;
  size: number;
  sha256: string;
  contentType: string;
}

/**
 * The files service, for ONE user: every request carries an X-User-Token minted by jobs (its own
 * jobs→files key ring) for that uid, so it can only ever reach that user's namespace.
 */
export interface FilesClient {
  /** One page of the user's objects in name order, after `after`; `next` when there are more. */
  list(after?: string): Promise<{ objects: FileObject[]; next?: string }>;
  /** Streams one object's bytes; rejects on any non-200. */
  download(name: string): Promise<Readable>;
  /** Streams `body` into a new object (chunked; the files service enforces size and quota). */
  upload(name: string, body: Readable, contentType: string): Promise<FileObject>;
  /** Deletes one object; false when it was already gone (idempotent re-runs). */
  remove(name: string): Promise<boolean>;
}

/** The events service, for ONE user (jobs→events key ring, that uid only). */
export interface EventsClient {
  publish(type: string, data: unknown): Promise<void>;
  /**
   * Publishes 1 to 100 events in one request and one transaction, in order (consecutive seqs);
   * each event's data at most 16 KiB of JSON, the whole body at most 100 KiB. All or nothing.
   */
  publishMany(events: readonly { type: string; data: unknown }[]): Promise<void>;
}

/** What a handler gets: everything is already bound to the job's uid. */
export interface JobContext {
  readonly jobId: string;
  readonly type: string;
  readonly uid: string;
  /** 1 for the first run; counted at claim time. */
  readonly attempt: number;
  /** Aborted when the worker must stop (shutdown grace ran out) or lost the job's lock. */
  readonly signal: AbortSignal;
  readonly files: FilesClient;
  readonly events: EventsClient;
  /** The runtime pool; per-user work goes through withTenant(uid). */
  readonly database: Database;
  readonly logger: Logger;
  /** Publishes `job.progress` {jobId, type, percent, ...detail} to the user's stream (best effort). */
  progress(percent: number, detail?: Record<string, unknown>): Promise<void>;
}

export interface JobType<P = unknown> {
  readonly type: string;
  /** Validates the payload at enqueue time (400 when invalid) and again before running. */
  readonly payload: z.ZodType<P>;
  /** Whether POST /jobs may create it; internal types (account.purge) are enqueued by services. */
  readonly userCreatable: boolean;
  readonly maxAttempts: number;
  /** A running job whose worker stopped heart-beating for this long is reaped (minutes in production). */
  readonly lockTimeoutSeconds: number;
  /** Retry delay: min(maxMs, baseMs * 2^(attempt-1)), with ±50 % jitter. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Resolves with the job's result (JSON), or throws to fail this attempt. Must be idempotent. */
  run(ctx: JobContext, payload: P): Promise<unknown>;
}

export function defineJobType<P>(type: JobType<P>): JobType<P> {
  return type;
}
