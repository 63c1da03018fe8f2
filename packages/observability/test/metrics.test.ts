import express from 'express';
import { Counter } from 'prom-client';
import request from 'supertest';
import { createMetrics, type Metrics } from '../src';

/** A small app instrumented the way services are: metrics middleware first, /metrics alongside. */
function createApp(metrics: Metrics): express.Express {
  const app = express();
  app.use(metrics.httpMiddleware());
  app.get('/metrics', metrics.metricsHandler());
  app.get('/items/:id', (req, res) => {
    if (req.params.id === 'missing') res.status(404).json({ error: 'not found' });
    else res.json({ id: req.params.id });
  });
  const objects = express.Router();
  objects.get('/:uid/*path', (_req, res) => {
    res.send('object');
  });
  objects.get('/', (_req, res) => {
    res.send('all objects');
  });
  app.use('/objects', objects);
  return app;
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus text format, labels parsed. */
function samplesOf(exposition: string, metric: string): Sample[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .map((line) => {
      const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
      const labels = Object.fromEntries(
        Array.from(labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g), (m) => [m[1] ?? '', m[2] ?? '']),
      );
      return { labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) };
    });
}

async function scrape(app: express.Express): Promise<string> {
  const res = await request(app).get('/metrics').expect(200);
  return res.text;
}

describe('createMetrics', () => {
  test('labels request durations by route pattern, so different ids share one series', async () => {
    const app = createApp(createMetrics({ service: 'catalog' }));
    for (const id of ['1', '2', '3']) await request(app).get(`/items/${id}`).expect(200);
    await request(app).get('/items/missing').expect(404);

    const counts = samplesOf(await scrape(app), 'http_request_duration_seconds_count');
    const items = counts.filter((s) => s.labels.route === '/items/:id');
    expect(items).toEqual([
      { labels: { method: 'GET', route: '/items/:id', status_code: '200', service: 'catalog' }, value: 3 },
      { labels: { method: 'GET', route: '/items/:id', status_code: '404', service: 'catalog' }, value: 1 },
    ]);
    expect(counts.some((s) => /\/items\/(\d|missing)/.test(s.labels.route ?? ''))).toBe(false);
  });

  test('includes the mount path of a router and labels unrouted requests "unmatched"', async () => {
    const app = createApp(createMetrics({ service: 'catalog' }));
    await request(app).get('/objects/u-1/a/b.txt').expect(200);
    await request(app).get('/objects/u-2/c.txt').expect(200);
    await request(app).get('/objects').expect(200);
    await request(app).get('/no/such/page').expect(404);
    await request(app).get('/another/unknown').expect(404);

    const routes = samplesOf(await scrape(app), 'http_request_duration_seconds_count').map((s) => [
      s.labels.route,
      s.labels.status_code,
      s.value,
    ]);
    expect(routes).toEqual(
      expect.arrayContaining([
        ['/objects/:uid/*path', '200', 2],
        ['/objects', '200', 1],
        ['unmatched', '404', 2],
      ]),
    );
  });

  test('serves the Prometheus text format, including default Node metrics labelled with the service', async () => {
    const app = createApp(createMetrics({ service: 'catalog' }));
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(samplesOf(res.text, 'process_cpu_user_seconds_total')).toEqual([
      { labels: { service: 'catalog' }, value: expect.any(Number) },
    ]);
    expect(res.text).toContain('# TYPE http_request_duration_seconds histogram');
  });

  test('lets a service add its own metrics to the registry', async () => {
    const metrics = createMetrics({ service: 'jobs' });
    const finished = new Counter({
      name: 'jobs_finished_total',
      help: 'Jobs finished',
      labelNames: ['state'],
      registers: [metrics.registry],
    });
    finished.inc({ state: 'done' });
    expect(samplesOf(await scrape(createApp(metrics)), 'jobs_finished_total')).toEqual([
      { labels: { state: 'done', service: 'jobs' }, value: 1 },
    ]);
  });

  test('two instances keep separate registries and do not share series', async () => {
    const first = createApp(createMetrics({ service: 'first' }));
    const second = createApp(createMetrics({ service: 'second' }));
    await request(first).get('/items/1').expect(200);
    await request(first).get('/items/2').expect(200);

    const firstCounts = samplesOf(await scrape(first), 'http_request_duration_seconds_count');
    const secondCounts = samplesOf(await scrape(second), 'http_request_duration_seconds_count');
    expect(firstCounts.find((s) => s.labels.route === '/items/:id')).toMatchObject({
      labels: { service: 'first' },
      value: 2,
    });
    // The second app has served nothing but its own /metrics.
    expect(secondCounts.filter((s) => s.labels.route === '/items/:id')).toEqual([]);
  });
});
