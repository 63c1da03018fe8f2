import { createLogger } from '@tenantmesh/observability';
import { lineCollector } from '@tenantmesh/testing';
import { EventsOutbox, type OutboxEvent } from '../src/queue/events-outbox';

/** The outbox's batching and ordering rules; the real events service is in handlers.test.ts. */
describe('jobs: the events outbox', () => {
  const logger = createLogger({ service: 'jobs', level: 'error', stream: lineCollector().stream });
  const event = (n: number, pad = 0): OutboxEvent => ({
    type: 'job.succeeded',
    data: { n, pad: 'x'.repeat(pad) },
  });

  /** A send that records each post and settles it when the test says so. */
  function recorder() {
    const posts: { uid: string; events: OutboxEvent[]; settle: (error?: Error) => void }[] = [];
    const send = (uid: string, events: readonly OutboxEvent[]) =>
      new Promise<void>((resolve, reject) => {
        posts.push({ uid, events: [...events], settle: (error) => (error ? reject(error) : resolve()) });
      });
    return { posts, send };
  }
  const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

  it('posts one user’s waiting events together, in order, one post at a time per user', async () => {
    const { posts, send } = recorder();
    const outbox = new EventsOutbox({ send, logger, lingerMs: 5 });
    for (let n = 1; n <= 3; n += 1) outbox.push('u1', event(n));
    await tick();
    expect(posts.map((p) => p.events.map((e) => (e.data as { n: number }).n))).toEqual([[1, 2, 3]]);
    // While u1's post is in flight, its next events wait (order), and go together afterwards.
    for (let n = 4; n <= 6; n += 1) outbox.push('u1', event(n));
    await tick();
    expect(posts).toHaveLength(1);
    posts[0]!.settle();
    await tick();
    expect(posts[1]!.events.map((e) => (e.data as { n: number }).n)).toEqual([4, 5, 6]);
    posts[1]!.settle();
    await outbox.drain(1000);
    expect(outbox.pending).toBe(0);
  });

  it('posts different users side by side, up to its concurrency', async () => {
    const { posts, send } = recorder();
    const outbox = new EventsOutbox({ send, logger, lingerMs: 0, concurrency: 2 });
    for (const uid of ['a', 'b', 'c']) outbox.push(uid, event(1));
    await tick();
    expect(posts.map((p) => p.uid)).toEqual(['a', 'b']);
    posts[0]!.settle();
    await tick();
    expect(posts.map((p) => p.uid)).toEqual(['a', 'b', 'c']);
    for (const p of posts.slice(1)) p.settle();
    await outbox.drain(1000);
  });

  it('caps a post by count and by bytes (the events service’s limits), sending at least one event', async () => {
    const { posts, send } = recorder();
    const outbox = new EventsOutbox({ send, logger, lingerMs: 5, batchSize: 4, batchBytes: 3000 });
    for (let n = 1; n <= 6; n += 1) outbox.push('u', event(n));
    await tick();
    expect(posts[0]!.events).toHaveLength(4);
    posts[0]!.settle();
    await tick();
    expect(posts[1]!.events).toHaveLength(2);
    posts[1]!.settle();
    for (let n = 1; n <= 3; n += 1) outbox.push('u', event(n, 1400));
    outbox.push('u', event(9, 5000)); // alone larger than the cap: still goes, in its own post
    await tick();
    expect(posts[2]!.events).toHaveLength(2); // 2 × ~1.4 KB fit in 3000 bytes, a third does not
    posts[2]!.settle();
    await tick();
    expect(posts[3]!.events).toHaveLength(1);
    posts[3]!.settle();
    await tick();
    expect(posts[4]!.events.map((e) => (e.data as { n: number }).n)).toEqual([9]);
    posts[4]!.settle();
    await outbox.drain(1000);
  });

  it('drops what overflows and counts what fails, and drain gives up after its timeout', async () => {
    const { posts, send } = recorder();
    const lost: string[] = [];
    const outbox = new EventsOutbox({
      send,
      logger,
      lingerMs: 0,
      maxQueued: 2,
      onLost: (reason, n) => lost.push(`${reason}:${n}`),
    });
    outbox.push('u', event(1)); // posted at once
    outbox.push('u', event(2)); // waits
    outbox.push('u', event(3)); // waits
    outbox.push('u', event(4)); // overflow
    expect(lost).toEqual(['overflow:1']);
    const started = Date.now();
    await outbox.drain(100); // nothing settles: returns after its timeout
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    posts[0]!.settle(new Error('events answered 503'));
    await tick();
    expect(lost).toEqual(['overflow:1', 'failed:1']);
    expect(posts[1]!.events).toHaveLength(2);
    posts[1]!.settle();
    await outbox.drain(1000);
    expect(outbox.pending).toBe(0);
  });
});
