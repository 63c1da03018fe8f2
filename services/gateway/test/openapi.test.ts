import fs from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS } from '@tenantmesh/http-kit';
import type { Express } from 'express';
import request from 'supertest';
import { parse } from 'yaml';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';

const SPEC = path.join(__dirname, '..', '..', '..', 'docs', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Spec {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], unknown>>>;
  components: { schemas: { Problem: { properties: { code: { enum: string[] } } } } };
}

describe('docs/openapi.yaml', () => {
  let h: Harness;
  let app: Express;
  let cookie: string;
  const spec = parse(fs.readFileSync(SPEC, 'utf8')) as Spec;
  const operations = Object.entries(spec.paths).flatMap(([p, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((method) => ({ method, path: p })),
  );

  beforeAll(async () => {
    h = await openHarness();
    // No upstream configured: a routed path answers 503, an unrouted one the gateway's own 404.
    app = h.buildGateway({ urls: {} });
    cookie = await h.signIn(await h.createUser());
  });
  afterAll(() => h.close());

  // With a session and our Origin, so neither the session nor the CSRF check hides a missing route.
  const send = (method: (typeof METHODS)[number], url: string) =>
    request(app)[method](url).set('Cookie', cookie).set('Origin', PUBLIC_ORIGIN);
  const isNoSuchRoute = (res: request.Response) =>
    res.status === 404 && res.body.code === 'not_found' && res.body.detail === 'no such route';

  it('is OpenAPI 3.1 and lists the public routes', () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(operations.length).toBeGreaterThan(15);
  });

  it('lists only operations the gateway routes', async () => {
    const unrouted: string[] = [];
    for (const { method, path: template } of operations) {
      const url = template.replace(/\{(\w+)\}/g, (_m, name: string) =>
        name.endsWith('Id') ? '00000000-0000-4000-8000-000000000000' : 'sample',
      );
      const res = await send(method, url);
      expect(res.status).not.toBe(500);
      if (isNoSuchRoute(res)) unrouted.push(`${method.toUpperCase()} ${template}`);
    }
    expect(unrouted).toEqual([]);
  });

  it('would notice an operation the gateway does not route', async () => {
    expect(isNoSuchRoute(await send('get', '/api/nothing-here'))).toBe(true);
    expect(isNoSuchRoute(await send('get', '/nothing-here'))).toBe(true);
  });

  it('lists every problem code of the catalogue', () => {
    const documented = spec.components.schemas.Problem.properties.code.enum;
    expect(documented).toEqual(expect.arrayContaining(Object.keys(ERROR_STATUS)));
  });
});
