import type { Logger } from '@tenantmesh/observability';

export interface OutboxEvent {
  type: string;
  data: unknown;
}

interface Waiting {
  event: OutboxEvent;
  /** Its JSON size, counted once. */
  bytes: number;
}

export interface EventsOutboxOptions {
  /** Sends events to ONE user's stream, in order, in one call (the events client bound to `uid`). */
  send(uid: string, events: readonly OutboxEvent[]): Promise<void>;
  logger: Logger;
  /** Users whose events are being posted at once. */
  concurrency?: number;
  /** Events per post at most (the events service's batch limit). */
  batchSize?: number;
  /** JSON bytes per post at most (the events service refuses bodies over 100 KiB); one event always goes. */
  batchBytes?: number;
  /**
   * How long a user's first waiting event may wait for others to share its post (unless a full
   * batch is waiting). Events are a notification, not the job's state: a few ms late is fine,
   * and one post of 100 costs the worker and the events service far less than 100 posts.
   */
  lingerMs?: number;
  /** Events waiting beyond this are dropped (counted, logged): a dead events service must not grow memory. */
  maxQueued?: number;
  /** Called with the number of events dropped (overflow) or not delivered (failed). */
  onLost?(reason: 'overflow' | 'failed', events: number): void;
}

/**
 * A worker's outgoing `job.succeeded` / `job.dead` events. Best effort and off the job's path:
 * a job's slot is free once its outcome is stored; its event follows. One user's events keep
 * their order (one post at a time per user, everything waiting for that user goes in the next
 * post, up to batchSize); different users' posts run side by side.
 */
export class EventsOutbox {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly busy = new Set<string>();
  private queued = 0;
  private posting = 0;
  private idle: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly batchBytes: number;
  private readonly maxQueued: number;
  private readonly lingerMs: number;
  private lingering: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventsOutboxOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.batchSize = options.batchSize ?? 100;
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    this.maxQueued = options.maxQueued ?? 10_000;
    this.lingerMs = options.lingerMs ?? 10;
  }

  /** Events queued or being posted. */
  get pending(): number {
    return this.queued + this.posting;
  }

  push(uid: string, event: OutboxEvent): void {
    if (this.queued >= this.maxQueued) {
      this.options.onLost?.('overflow', 1);
      this.options.logger.warn('event outbox full: event dropped', { uid, type: event.type });
      return;
    }
    const waiting = { event, bytes: Buffer.byteLength(JSON.stringify(event)) + 1 };
    const list = this.waiting.get(uid);
    if (list) list.push(waiting);
    else this.waiting.set(uid, [waiting]);
    this.queued += 1;
    if ((list?.length ?? 1) >= this.batchSize || this.lingerMs === 0) this.pump();
    else this.lingering ??= setTimeout(() => this.pump(), this.lingerMs);
  }

  /** Resolves when everything queued was posted (or failed), or after `ms`, whichever comes first. */
  async drain(ms: number): Promise<void> {
    if (this.pending === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  private pump(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    if (this.busy.size >= this.concurrency) return;
    for (const [uid, list] of this.waiting) {
      if (this.busy.size >= this.concurrency) break;
      if (this.busy.has(uid)) continue;
      let count = 0;
      let bytes = 0;
      while (count < list.length && count < this.batchSize) {
        bytes += list[count]!.bytes;
        if (count > 0 && bytes > this.batchBytes) break;
        count += 1;
      }
      const batch = list.splice(0, count).map((w) => w.event);
      if (list.length === 0) this.waiting.delete(uid);
      this.queued -= batch.length;
      this.posting += batch.length;
      this.busy.add(uid);
      void this.options
        .send(uid, batch)
        .catch((error: unknown) => {
          this.options.onLost?.('failed', batch.length);
          this.options.logger.warn('job events not delivered', { uid, events: batch.length, err: error });
        })
        .finally(() => {
          this.posting -= batch.length;
          this.busy.delete(uid);
          this.pump();
          if (this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }
}
