import type { EventFanout, UserEvent } from './event-fanout';
import { decodeUserEvent, encodeUserEvent } from './event-fanout';

export interface MemoryFanoutOptions {
  /** A subscriber's onEvent threw; the others still get the event. */
  onHandlerError?: (error: unknown, event: UserEvent) => void;
}

interface Subscription {
  readonly onEvent: (event: UserEvent) => void;
  active: boolean;
}

/**
 * In-process fan-out for a single node (no REDIS_URL). Behaves like the Redis one: the event
 * travels as JSON (subscribers get a copy, never the publisher's object), it is delivered later
 * (never inside publish), to those subscribed when it was published, in publish order.
 */
export function createMemoryFanout(options: MemoryFanoutOptions = {}): EventFanout {
  const { onHandlerError } = options;
  const subscribers = new Map<string, Set<Subscription>>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new Error('EventFanout is closed');
  };

  return {
    async publish(event) {
      assertOpen();
      const raw = encodeUserEvent(event);
      const recipients = [...(subscribers.get(event.uid) ?? [])];
      if (recipients.length === 0) return;
      setImmediate(() => {
        const delivered = decodeUserEvent(raw);
        if (!delivered) return; // cannot happen: encodeUserEvent checked it
        for (const subscription of recipients) {
          if (!subscription.active) continue;
          try {
            subscription.onEvent(delivered);
          } catch (error) {
            try {
              onHandlerError?.(error, delivered);
            } catch {
              // A failing reporter must not stop delivery to the others.
            }
          }
        }
      });
    },

    async subscribe(uid, onEvent) {
      assertOpen();
      if (typeof uid !== 'string' || uid === '') throw new TypeError('uid must be a non-empty string');
      const subscription: Subscription = { onEvent, active: true };
      let set = subscribers.get(uid);
      if (!set) {
        set = new Set();
        subscribers.set(uid, set);
      }
      set.add(subscription);
      const own = set;
      return async () => {
        subscription.active = false;
        own.delete(subscription);
        if (own.size === 0 && subscribers.get(uid) === own) subscribers.delete(uid);
      };
    },

    async close() {
      closed = true;
      for (const set of subscribers.values()) for (const subscription of set) subscription.active = false;
      subscribers.clear();
    },
  };
}
