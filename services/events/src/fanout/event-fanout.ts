/** One stored event on its way to a user's open streams. */
export interface UserEvent {
  /** The user it belongs to. Carried in the message itself: the stream checks it before writing. */
  readonly uid: string;
  /** Per-user sequence number: 1, 2, 3… with no gaps (the SSE `id`). */
  readonly seq: number;
  readonly type: string;
  readonly data: unknown;
  /** ISO timestamp of the commit. */
  readonly at: string;
}

/**
 * Delivery of freshly stored events to every replica holding a stream of that user. Redis
 * pub/sub across replicas, or in-process when no REDIS_URL is configured. Messages are passed on
 * as they arrive — a fan-out never rewrites `uid` from its channel — so the stream's last check
 * (event.uid === the connection's uid) sees exactly what was delivered.
 */
export interface EventFanout {
  /** Sends `event` to every subscriber of `event.uid`, on every replica. */
  publish(event: UserEvent): Promise<void>;
  /**
   * Calls `onEvent` for events published for `uid` until the returned function is called.
   * Resolves once the subscription is active: anything published after that is delivered.
   */
  subscribe(uid: string, onEvent: (event: UserEvent) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The wire form of an event: the UserEvent exactly as published, as JSON. */
export function encodeUserEvent(event: UserEvent): string {
  if (!isUserEvent(event)) {
    throw new TypeError('not a UserEvent: uid (non-empty), seq (integer), type and at are required');
  }
  return JSON.stringify(event);
}

/** The event exactly as it was published, or undefined when `raw` is not JSON or lacks a field. */
export function decodeUserEvent(raw: string): UserEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return isUserEvent(value) ? value : undefined;
}

// `data` is `unknown` (undefined included, which JSON drops), so only the other fields are checked.
function isUserEvent(value: unknown): value is UserEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const event = value as Record<string, unknown>;
  return (
    typeof event.uid === 'string' &&
    event.uid !== '' &&
    typeof event.seq === 'number' &&
    Number.isSafeInteger(event.seq) &&
    typeof event.type === 'string' &&
    typeof event.at === 'string'
  );
}
