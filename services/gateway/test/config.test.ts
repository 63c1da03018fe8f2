import { ConfigError } from '@tenantmesh/config';
import { createSecretsDir, type SecretsDir } from '@tenantmesh/testing';
import { loadGatewayConfig } from '../src/config';

describe('gateway configuration', () => {
  let secrets: SecretsDir;
  beforeAll(() => {
    secrets = createSecretsDir();
    secrets.writeRing('cookie_keys');
    secrets.writeRing('token_keys_gateway_notes');
  });
  afterAll(() => secrets.remove());

  const base = () => ({
    DATABASE_URL: 'postgres://127.0.0.1:5432/tenantmesh',
    SECRETS_DIR: secrets.dir,
    PUBLIC_ORIGIN: 'https://app.example.com/',
  });
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadGatewayConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    return [];
  };

  it('needs a token key ring only for the upstreams it is configured to reach', () => {
    const config = loadGatewayConfig({ ...base(), NOTES_URL: 'http://127.0.0.1:3005', FILES_URL: '' });
    expect(config.tokenKeyPlan.audiences).toEqual(['notes']);
    expect(config.upstreams.urls).toEqual({
      auth: undefined,
      files: undefined,
      events: undefined,
      jobs: undefined,
      notes: 'http://127.0.0.1:3005',
    });
    expect(loadGatewayConfig(base()).tokenKeyPlan.audiences).toEqual([]);
  });

  it('refuses to start without the ring of a configured upstream', () => {
    expect(problemsOf({ ...base(), FILES_URL: 'http://127.0.0.1:3002' }).join('\n')).toContain(
      'token_keys_gateway_files',
    );
  });

  it('has the documented defaults', () => {
    const config = loadGatewayConfig(base());
    expect(config.http.port).toBe(3000);
    expect(config.edge).toEqual({ publicOrigin: 'https://app.example.com', trustProxyHops: 0 });
    expect(config.rateLimit).toEqual({ perMinute: 300, authPerMinute: 30 });
    expect(config.securityTxt.contact).toBe('mailto:security@example.com');
  });

  it('lists every problem at once: bad URLs, a path in PUBLIC_ORIGIN, a stale or far security.txt expiry', () => {
    const problems = problemsOf({
      ...base(),
      AUTH_URL: 'ftp://auth',
      JOBS_URL: 'http://user:pw@jobs',
      PUBLIC_ORIGIN: 'https://app.example.com/app',
      TRUST_PROXY_HOPS: '-1',
      SECURITY_TXT_EXPIRES: '2020-01-01T00:00:00Z',
    }).join('\n');
    expect(problems).toContain('AUTH_URL');
    expect(problems).toContain('JOBS_URL');
    expect(problems).toContain('PUBLIC_ORIGIN');
    expect(problems).toContain('TRUST_PROXY_HOPS');
    expect(problems).toContain('must be in the future');
    expect(problems).not.toContain(':pw@');
    const farAhead = new Date(Date.now() + 400 * 86_400_000).toISOString();
    expect(problemsOf({ ...base(), SECURITY_TXT_EXPIRES: farAhead }).join('\n')).toContain(
      'less than a year',
    );
  });

  it('serves the built web client from packages/web/dist unless WEB_ROOT says otherwise (off: none)', () => {
    expect(loadGatewayConfig(base()).web.root).toMatch(/packages[/\\]web[/\\]dist$/);
    expect(loadGatewayConfig({ ...base(), WEB_ROOT: '/srv/web' }).web.root).toBe('/srv/web');
    expect(loadGatewayConfig({ ...base(), WEB_ROOT: 'off' }).web.root).toBeUndefined();
  });
});
