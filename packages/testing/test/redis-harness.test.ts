import { startRedisServer } from '@tenantmesh/devstack';
import Redis from 'ioredis';
import { createTestRedis, freePort } from '../src';

describe('the Redis test harness', () => {
  it('gives each test its own key prefix and removes its keys on close', async () => {
    const a = await createTestRedis();
    const b = await createTestRedis();
    const observer = b.connect();
    try {
      expect(a.prefix).not.toBe(b.prefix);
      await a.client.set('k', 'from a');
      await b.client.set('k', 'from b');
      expect(await a.client.get('k')).toBe('from a');
      expect(await observer.get(`${a.prefix}k`)).toBe('from a');
      await a.close();
      expect(await observer.exists(`${a.prefix}k`)).toBe(0);
      expect(await observer.get(`${b.prefix}k`)).toBe('from b');
    } finally {
      observer.disconnect();
      await b.close();
    }
  });

  it('starts a real redis-server on a free port when asked', async () => {
    const port = await freePort();
    const started = await startRedisServer(port);
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const client = new Redis(port, '127.0.0.1');
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await started.stop();
    }
  });

  it('says plainly when there is no redis-server to start, so Redis suites fail instead of passing silently', async () => {
    const started = await startRedisServer(await freePort(), 'redis-server-not-installed');
    expect(started).toEqual({ ok: false, reason: 'there is no redis-server-not-installed on PATH' });
  });
});
