import type { EventsMetrics } from '../events-metrics';

/** What the registry needs of an open stream. */
export interface OpenStream {
  readonly uid: string;
  /** Ends the stream, telling the client to reconnect after `reconnectMs` (undefined: no hint). */
  close(reason: string, reconnectMs?: number): void;
}

/**
 * The streams this replica holds, by user: for the process-wide cap, for closing a user's streams
 * when a session is revoked, and for draining on SIGTERM.
 */
export class StreamRegistry {
  private readonly byUser = new Map<string, Set<OpenStream>>();
  private open = 0;

  constructor(private readonly metrics: Pick<EventsMetrics, 'connections'>) {}

  get size(): number {
    return this.open;
  }

  add(stream: OpenStream): void {
    let streams = this.byUser.get(stream.uid);
    if (!streams) {
      streams = new Set();
      this.byUser.set(stream.uid, streams);
    }
    if (streams.has(stream)) return;
    streams.add(stream);
    this.open += 1;
    this.metrics.connections.set(this.open);
  }

  remove(stream: OpenStream): void {
    const streams = this.byUser.get(stream.uid);
    if (!streams?.delete(stream)) return;
    if (streams.size === 0) this.byUser.delete(stream.uid);
    this.open -= 1;
    this.metrics.connections.set(this.open);
  }

  /** Closes every stream of `uid` (a session of theirs was revoked); returns how many. */
  closeUser(uid: string, reason: string): number {
    const streams = [...(this.byUser.get(uid) ?? [])];
    for (const stream of streams) stream.close(reason);
    return streams.length;
  }

  /** Closes everything, asking clients to come back after `reconnectMs` (to another replica). */
  drain(reconnectMs: number): void {
    for (const streams of [...this.byUser.values()]) {
      for (const stream of [...streams]) stream.close('draining', reconnectMs);
    }
  }
}
