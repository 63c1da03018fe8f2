import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { shutdownGracefully } from '../src';

function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('shutdownGracefully', () => {
  it('stops accepting, lets the in-flight request finish, then closes pools', async () => {
    const order: string[] = [];
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => (arrived = r));
    const { server, port } = await listen((_req, res) => {
      arrived();
      setTimeout(() => {
        order.push('request finished');
        res.end('done');
      }, 300);
    });
    const slow = get(port, '/slow');
    await inFlight;
    const shutdown = shutdownGracefully({
      server,
      graceMs: 5000,
      close: async () => {
        order.push('pools closed');
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    await expect(get(port, '/new')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await slow).toEqual({ status: 200, body: 'done' });
    await shutdown;
    expect(order).toEqual(['request finished', 'pools closed']);
  });

  it('cuts a request that outlives the grace period, then still closes pools', async () => {
    const { server, port } = await listen(() => {
      // never answers
    });
    const hung = get(port, '/hang').catch((e: NodeJS.ErrnoException) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    let closed = false;
    await shutdownGracefully({
      server,
      graceMs: 200,
      close: async () => {
        closed = true;
      },
    });
    expect(await hung).toBe('ECONNRESET');
    expect(closed).toBe(true);
  });
});
