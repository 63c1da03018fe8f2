import { randomUUID } from 'node:crypto';
import { withTenant } from '@tenantmesh/db';
import { errors } from '@tenantmesh/http-kit';
import type { Response } from 'express';
import type { StreamSettings } from '../config';
import { findStreamBounds } from '../db/queries/find-stream-bounds';
import { listEventsAfter } from '../db/queries/list-events-after';
import type { EventsDeps } from '../deps';
import type { UserEvent } from '../fanout/event-fanout';
import type { OpenStream } from './stream-registry';

const REPLAY_PAGE = 500;
// A client this far behind is not reading: cut it, it will reconnect with Last-Event-ID.
const MAX_BUFFERED_BYTES = 1024 * 1024;

type Deps = Pick<EventsDeps, 'database' | 'fanout' | 'leases' | 'logger' | 'eventsMetrics' | 'registry'> & {
  settings: StreamSettings;
};

/**
 * One user's event stream on one socket. Order of business: take a lease (per-user cap across
 * replicas), subscribe to the user's fan-out (buffering), replay from PostgreSQL what came after
 * Last-Event-ID, then go live. Every event — replayed, gap-filled or live — goes through `write`,
 * which checks it belongs to this connection's uid immediately before it touches the socket.
 * Seqs are dense per user, so a duplicate (seq <= last sent) is skipped and a gap (an event
 * overtaken in fan-out) is filled from PostgreSQL: exactly once, in order.
 */
export class EventStream implements OpenStream {
  readonly id = randomUUID();
  private lastSent = 0;
  private live = false;
  private closed = false;
  private readonly pending: UserEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;

  private constructor(
    private readonly deps: Deps,
    readonly uid: string,
    private readonly res: Response,
  ) {}

  /** Opens a stream or throws an AppError (429 over the user's cap, 503 over this replica's). */
  static async open(
    deps: Deps,
    args: { uid: string; lastEventId?: number; res: Response },
  ): Promise<EventStream> {
    const { settings, eventsMetrics } = deps;
    if (deps.registry.size >= settings.maxStreams) {
      eventsMetrics.rejected.inc({ reason: 'process_cap' });
      throw errors.serviceUnavailable('this replica holds as many streams as it may; retry');
    }
    const stream = new EventStream(deps, args.uid, args.res);
    const lease = await deps.leases.acquire(args.uid, stream.id, {
      cap: settings.maxStreamsPerUser,
      ttlMs: settings.leaseTtlMs,
    });
    if (!lease.ok) {
      eventsMetrics.rejected.inc({ reason: 'user_cap' });
      throw errors.tooManyStreams(
        Math.max(1, Math.ceil(lease.retryAfterMs / 1000)),
        settings.maxStreamsPerUser,
      );
    }
    try {
      await stream.start(args.lastEventId);
    } catch (error) {
      stream.close('failed to start');
      throw error;
    }
    return stream;
  }

  private async start(lastEventId: number | undefined): Promise<void> {
    const { res, deps } = this;
    const { settings } = deps;
    deps.registry.add(this);
    res.on('close', () => this.close('client went away'));
    if (res.req.socket?.destroyed) {
      this.close('client went away');
      return;
    }
    this.unsubscribe = await deps.fanout.subscribe(this.uid, (event) => this.receive(event));
    // Anything published from here on is buffered in `pending` until the replay is done.
    const bounds = await withTenant(deps.database.db, this.uid, (trx) =>
      findStreamBounds(trx, { uid: this.uid }),
    );
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('Connection', 'keep-alive');
    res.flushHeaders();
    res.write(`retry: ${settings.reconnectMs}\n\n`);

    if (lastEventId === undefined || lastEventId >= bounds.last) {
      // Live only (a future id — a client from before a restore — also starts from now).
      this.lastSent = bounds.last;
    } else {
      this.lastSent = lastEventId;
      const firstKept = bounds.oldest ?? bounds.last + 1;
      if (firstKept > lastEventId + 1) {
        // Events after Last-Event-ID were pruned: say so instead of skipping them silently.
        this.writeLine(
          `event: replay_gap\ndata: ${JSON.stringify({ requested: lastEventId, oldestAvailable: bounds.oldest ?? null })}\n\n`,
        );
        this.lastSent = firstKept - 1;
      }
      await this.fill(bounds.last + 1);
    }
    this.live = true;
    this.enqueue(async () => {
      for (const event of this.pending.splice(0)) await this.deliver(event);
    });
    this.every(settings.heartbeatMs, () => this.writeLine(': heartbeat\n\n'));
    this.every(Math.max(100, Math.floor(settings.leaseTtlMs / 3)), () => void this.renewLease());
    const lifetime = setTimeout(
      () => this.close('maximum stream age', settings.reconnectMs),
      settings.maxStreamMs,
    );
    lifetime.unref();
    this.timers.push(lifetime);
  }

  /** Fan-out delivery: buffered until the replay is done, then serialised. */
  private receive(event: UserEvent): void {
    if (this.closed) return;
    if (!this.live) {
      this.pending.push(event);
      return;
    }
    this.enqueue(() => this.deliver(event));
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.deps.logger.warn('event stream failed', { uid: this.uid, err: error });
      this.close('delivery failed', this.deps.settings.reconnectMs);
    });
  }

  private async deliver(event: UserEvent): Promise<void> {
    if (this.closed || event.seq <= this.lastSent) return; // a duplicate of something sent
    if (event.uid === this.uid && event.seq > this.lastSent + 1) await this.fill(event.seq);
    this.write(event);
  }

  /** Sends the stored events between what was sent and `before` (exclusive), in order. */
  private async fill(before: number): Promise<void> {
    const { db } = this.deps.database;
    while (!this.closed && this.lastSent + 1 < before) {
      const after = this.lastSent;
      const rows = await withTenant(db, this.uid, (trx) =>
        listEventsAfter(trx, { uid: this.uid, after, before, limit: REPLAY_PAGE }),
      );
      if (rows.length === 0) return; // not committed yet or pruned: the next event or reconnect brings it
      for (const row of rows) {
        this.deps.eventsMetrics.replayed.inc();
        this.write({
          uid: this.uid,
          seq: Number(row.seq),
          type: row.type,
          data: row.data,
          at: row.created_at.toISOString(),
        });
      }
    }
  }

  /** The last line of defence: nothing reaches the socket unless it is this connection's user's. */
  private write(event: UserEvent): void {
    if (event.uid !== this.uid) {
      this.deps.eventsMetrics.dropped.inc({ reason: 'wrong_uid' });
      this.deps.logger.error('event dropped: wrong uid', {
        connectionUid: this.uid,
        eventUid: event.uid,
        seq: event.seq,
      });
      return;
    }
    if (this.closed || event.seq <= this.lastSent) return;
    this.writeLine(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    this.lastSent = event.seq;
    this.deps.eventsMetrics.delivered.inc();
  }

  private writeLine(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > MAX_BUFFERED_BYTES)
      this.close('client too slow', this.deps.settings.reconnectMs);
  }

  private async renewLease(): Promise<void> {
    const { leases, settings } = this.deps;
    try {
      if (await leases.renew(this.uid, this.id, settings.leaseTtlMs)) return;
      // Lost (e.g. Redis restarted): take it again, or give the slot up.
      const again = await leases.acquire(this.uid, this.id, {
        cap: settings.maxStreamsPerUser,
        ttlMs: settings.leaseTtlMs,
      });
      if (!again.ok) this.close('lease lost', settings.reconnectMs);
    } catch (error) {
      this.deps.logger.warn('could not renew a stream lease', { uid: this.uid, err: error });
    }
  }

  private every(ms: number, tick: () => void): void {
    const timer = setInterval(tick, ms);
    timer.unref();
    this.timers.push(timer);
  }

  close(reason: string, reconnectMs?: number): void {
    if (this.closed) return;
    if (reconnectMs !== undefined && !this.res.writableEnded) this.res.write(`retry: ${reconnectMs}\n\n`);
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.deps.registry.remove(this);
    // Before the headers went out, the error handler still owes the client a problem document.
    if (this.res.headersSent && !this.res.writableEnded) this.res.end();
    const { leases, logger } = this.deps;
    void leases
      .release(this.uid, this.id)
      .catch((error: unknown) => logger.warn('could not release a stream lease', { err: error }));
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    void unsubscribe?.().catch((error: unknown) => logger.warn('could not unsubscribe', { err: error }));
    logger.debug('stream closed', { uid: this.uid, reason });
  }
}
