import request from 'supertest';
import { type Harness, openHarness, PUBLIC_ORIGIN } from './support/gateway-harness';

describe('/.well-known/security.txt', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(() => h.close());

  it('says where to report, until when, under which policy (RFC 9116)', async () => {
    const res = await request(h.buildGateway()).get('/.well-known/security.txt');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const fields = Object.fromEntries(
      res.text
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
    expect(fields.Contact).toBe('mailto:security@example.com');
    expect(fields.Policy).toBe('https://github.com/tenantmesh/tenantmesh/blob/main/SECURITY.md');
    expect(fields['Preferred-Languages']).toBe('en');
    expect(fields.Canonical).toBe(`${PUBLIC_ORIGIN}/.well-known/security.txt`);
    expect(fields.Expires).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const expires = new Date(fields.Expires!).getTime();
    expect(expires).toBeGreaterThan(Date.now());
    expect(expires).toBeLessThan(Date.now() + 365 * 86_400_000);
  });
});
