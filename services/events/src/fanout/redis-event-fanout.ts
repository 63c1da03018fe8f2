import type Redis from 'ioredis';
import { decodeUserEvent, type EventFanout, encodeUserEvent, type UserEvent } from './event-fanout';

export interface RedisFanoutOptions {
  /** Any connection; PUBLISH is all it is used for here. */
  publisher: Redis;
  /**
   * A connection dedicated to this fan-out: it goes into subscriber mode, and every message on a
   * channel this fan-out subscribed is taken as its own. Not quit by close() — the caller owns it.
   */
  subscriber: Redis;
  /** Channels are `${channelPrefix}events:${uid}`. ioredis' keyPrefix does not apply to pub/sub. */
  channelPrefix: string;
  /** A message that is not JSON or lacks a field of UserEvent; it is dropped. */
  onMalformed?: (raw: string) => void;
  /** A subscriber's onEvent threw; the others still get the event. */
  onHandlerError?: (error: unknown, event: UserEvent) => void;
}

interface Subscription {
  readonly onEvent: (event: UserEvent) => void;
}

interface Channel {
  readonly name: string;
  /** Local subscribers. Redis is subscribed to the channel exactly when this is non-empty. */
  readonly subscriptions: Set<Subscription>;
  /** Confirmed by Redis (SUBSCRIBE replied, and no UNSUBSCRIBE replied since). */
  subscribed: boolean;
  /** The last SUBSCRIBE/UNSUBSCRIBE step queued for this channel: they run one at a time. */
  tail: Promise<void>;
}

/**
 * Fan-out across replicas through Redis pub/sub: one channel per user, subscribed on this
 * replica's subscriber connection while at least one local stream of that user is open.
 */
export function createRedisFanout(options: RedisFanoutOptions): EventFanout {
  const { publisher, subscriber, channelPrefix, onMalformed, onHandlerError } = options;
  const channels = new Map<string, Channel>();
  const channelOf = (uid: string) => `${channelPrefix}events:${uid}`;
  let closing: Promise<void> | undefined;

  /**
   * Brings Redis in line with the local subscriptions of `channel`, after every step queued before
   * it. Each step reads the wanted state when it runs, so however subscribe and unsubscribe calls
   * interleave, the last step leaves Redis subscribed exactly when someone is still listening.
   */
  const sync = (channel: Channel): Promise<void> => {
    const step = channel.tail.then(async () => {
      await untilReady(subscriber);
      const wanted = channel.subscriptions.size > 0;
      if (wanted && !channel.subscribed) {
        await subscriber.subscribe(channel.name);
        channel.subscribed = true;
      } else if (!wanted && channel.subscribed) {
        await subscriber.unsubscribe(channel.name);
        channel.subscribed = false;
      }
    });
    const tail = step.catch(() => undefined);
    channel.tail = tail;
    void tail.then(() => {
      // Forget an idle channel, unless something was queued or subscribed meanwhile.
      if (channel.tail === tail && channel.subscriptions.size === 0 && !channel.subscribed) {
        channels.delete(channel.name);
      }
    });
    return step;
  };

  const onMessage = (name: string, raw: string) => {
    const channel = channels.get(name);
    if (!channel) return;
    const event = decodeUserEvent(raw);
    if (!event) {
      try {
        onMalformed?.(raw);
      } catch {
        // A failing reporter must not stop delivery of what comes next.
      }
      return;
    }
    // Delivered as published: `event.uid` is whatever the message said (the stream checks it).
    for (const subscription of [...channel.subscriptions]) {
      if (!channel.subscriptions.has(subscription)) continue; // unsubscribed by an earlier handler
      try {
        subscription.onEvent(event);
      } catch (error) {
        try {
          onHandlerError?.(error, event);
        } catch {
          // as above
        }
      }
    }
  };
  subscriber.on('message', onMessage);

  const assertOpen = () => {
    if (closing) throw new Error('EventFanout is closed');
  };

  return {
    async publish(event) {
      assertOpen();
      const raw = encodeUserEvent(event);
      await publisher.publish(channelOf(event.uid), raw);
    },

    async subscribe(uid, onEvent) {
      assertOpen();
      assertUid(uid);
      const name = channelOf(uid);
      let channel = channels.get(name);
      if (!channel) {
        channel = { name, subscriptions: new Set(), subscribed: false, tail: Promise.resolve() };
        channels.set(name, channel);
      }
      const subscription: Subscription = { onEvent };
      channel.subscriptions.add(subscription);
      try {
        await sync(channel);
      } catch (error) {
        channel.subscriptions.delete(subscription);
        throw error;
      }
      if (closing) throw new Error('EventFanout is closed');
      const subscribed = channel;
      let unsubscribed: Promise<void> | undefined;
      return () => {
        if (!unsubscribed) {
          subscribed.subscriptions.delete(subscription);
          unsubscribed = closing ? closing.catch(() => undefined) : sync(subscribed);
        }
        return unsubscribed;
      };
    },

    close() {
      if (!closing) {
        const all = [...channels.values()];
        for (const channel of all) channel.subscriptions.clear();
        closing = Promise.allSettled(all.map(sync)).then((results) => {
          subscriber.off('message', onMessage);
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
        });
      }
      return closing;
    },
  };
}

/**
 * Waits until the connection has passed ioredis' ready check. ioredis 5.8.2+ writes (UN)SUBSCRIBE
 * on a connection that is still in its handshake; the reply puts it in subscriber mode, the ready
 * check's INFO is then refused, and ioredis drops the connection and resubscribes later, losing
 * what was published meanwhile (redis/ioredis#2037, fixed in 6.0). PING is held in the offline
 * queue until ready, and fails after maxRetriesPerRequest like any command when Redis is down.
 */
async function untilReady(redis: Redis): Promise<void> {
  while (redis.status !== 'ready') await redis.ping();
}

function assertUid(uid: string): void {
  if (typeof uid !== 'string' || uid === '') throw new TypeError('uid must be a non-empty string');
}
