import { Writable } from 'node:stream';
import { connectSql } from '@tenantmesh/db';
import { createLogger, createMetrics } from '@tenantmesh/observability';
import { createTestDatabase, type TestDatabase } from '@tenantmesh/testing';
import type { Express } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { AppError, createService, errors, parseInput, type ReadinessCheck } from '../src';

function buildTestApp(readiness: Record<string, ReadinessCheck> = {}, logs: string[] = []): Express {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  return createService(
    {
      name: 'kit-test',
      logger: createLogger({ service: 'kit-test', level: 'debug', stream }),
      metrics: createMetrics({ service: 'kit-test' }),
      bodyLimit: '1kb',
      readiness,
      rawBodyPaths: ['/uploads'],
    },
    (app) => {
      app.post('/echo', (req, res) => {
        res.json(parseInput(z.object({ name: z.string().max(10) }), req.body));
      });
      app.put('/uploads/:name', async (req, res) => {
        let bytes = 0;
        for await (const chunk of req) bytes += (chunk as Buffer).length;
        res.json({ parsed: req.body !== undefined, bytes });
      });
      app.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
      app.get('/teapot', async () => {
        throw errors.conflict('already there');
      });
      app.get('/items/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
    },
  );
}

const PROBLEM = /^application\/problem\+json/;

describe('createService', () => {
  it('streams bodies under rawBodyPaths instead of parsing and size-limiting them as JSON', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(5000) });
    const raw = await request(buildTestApp()).put('/uploads/a.json').type('application/json').send(big);
    expect(raw.status).toBe(200);
    expect(raw.body).toEqual({ parsed: false, bytes: big.length });
    // Elsewhere the same body is parsed and limited.
    const parsed = await request(buildTestApp()).post('/echo').type('application/json').send(big);
    expect(parsed.status).toBe(413);
  });

  it('sets security headers and hides the framework', async () => {
    const res = await request(buildTestApp()).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('gives every response a request id, keeping a well-formed inbound one and replacing a hostile one', async () => {
    const app = buildTestApp();
    const fresh = await request(app).get('/healthz');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await request(app).get('/healthz').set('X-Request-Id', 'abc-123-def-456');
    expect(kept.headers['x-request-id']).toBe('abc-123-def-456');
    const hostile = await request(app).get('/healthz').set('X-Request-Id', '<script>alert(1)</script>');
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers malformed JSON with 400 malformed_json as problem+json', async () => {
    const res = await request(buildTestApp())
      .post('/echo')
      .set('content-type', 'application/json')
      .send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body).toMatchObject({ code: 'malformed_json', status: 400 });
  });

  it('answers an oversized body with 413 payload_too_large', async () => {
    const res = await request(buildTestApp())
      .post('/echo')
      .send({ name: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('answers invalid input with 400 validation_failed and the issues', async () => {
    const res = await request(buildTestApp()).post('/echo').send({ name: 'far too long a name' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.issues[0].path).toBe('name');
  });

  it('answers an unknown route with 404 not_found as problem+json', async () => {
    const res = await request(buildTestApp()).get('/nope');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.code).toBe('not_found');
  });

  it('renders an AppError thrown by an async handler with its own status and code', async () => {
    const res = await request(buildTestApp()).get('/teapot');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', detail: 'already there' });
  });

  it('turns an unexpected error into a 500 that leaks nothing, and logs it redacted', async () => {
    const logs: string[] = [];
    const res = await request(buildTestApp({}, logs)).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'internal', detail: 'internal error' });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(logs.join('\n')).toContain('request failed');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers a malformed percent-encoding in the path with 4xx, not 500', async () => {
    const res = await request(buildTestApp()).get('/items/%E0%A4%A');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('serves /metrics with HTTP durations labelled by route pattern', async () => {
    const app = buildTestApp();
    await request(app).get('/items/1');
    await request(app).get('/items/2');
    const res = await request(app).get('/metrics');
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/items\/:id"[^}]*\} 2/);
  });
});

describe('/readyz', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('is ready when PostgreSQL answers, and not ready (503, naming the check) when it does not', async () => {
    const live = connectSql({ url: testDb.url, user: testDb.runtimeUser, max: 1 });
    // A real connection attempt to a port where nothing listens.
    const dead = connectSql({
      url: 'postgres://127.0.0.1:1/nothing',
      user: 'x',
      max: 1,
      connectTimeoutSeconds: 1,
    });
    try {
      const ready = await request(buildTestApp({ postgres: () => live`select 1` })).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok' } });
      const notReady = await request(
        buildTestApp({ postgres: () => live`select 1`, other: () => dead`select 1` }),
      ).get('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ code: 'service_unavailable', failing: ['other'] });
      // Liveness does not depend on dependencies.
      expect((await request(buildTestApp({ other: () => dead`select 1` })).get('/healthz')).status).toBe(200);
    } finally {
      await live.end();
      await dead.end();
    }
  });
});

describe('parseInput', () => {
  it('throws an AppError, never a ZodError', () => {
    expect(() => parseInput(z.object({ a: z.number() }), { a: 'x' })).toThrow(AppError);
  });
});
