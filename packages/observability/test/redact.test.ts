import { isSensitiveKey, REDACTED, redact, scrubString } from '../src';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJlLWJ5dGVz';

describe('isSensitiveKey', () => {
  test.each([
    'cookie',
    'Cookie',
    'set-cookie',
    'authorization',
    'Authorization',
    'x-user-token',
    'clientSecret',
    'dbPassword',
    'PASSPHRASE',
    'refresh_token',
    'api_key',
    'apiKey',
    'x-api-key',
    'private_key',
    'privateKey',
    'awsCredentials',
  ])('treats %s as sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(true);
  });

  test.each(['user', 'tenantId', 'method', 'url', 'status', 'requestId'])('leaves %s alone', (key) => {
    expect(isSensitiveKey(key)).toBe(false);
  });
});

describe('scrubString', () => {
  test('replaces JWTs and bearer tokens inside free text', () => {
    expect(scrubString(`token was ${JWT}, rejected`)).toBe(`token was ${REDACTED}, rejected`);
    expect(scrubString('sent Authorization: Bearer abc.def-ghi')).toBe(
      `sent Authorization: Bearer ${REDACTED}`,
    );
  });

  test('replaces URL credentials and secret-looking query parameters', () => {
    expect(scrubString('redis://:hunter2@cache:6379/0')).toBe(`redis://${REDACTED}@cache:6379/0`);
    expect(scrubString('GET /events?token=abc123&tenant=acme')).toBe(
      `GET /events?token=${REDACTED}&tenant=acme`,
    );
  });

  test('leaves ordinary text unchanged', () => {
    const text = 'GET /objects/42 took 12ms (tenant=acme, https://example.com/a@b)';
    expect(scrubString(text)).toBe(text);
  });
});

describe('redact', () => {
  test('redacts sensitive keys at any depth, including inside arrays, and keeps the rest', () => {
    const input = {
      headers: { cookie: 'sid=abc', 'content-type': 'application/json' },
      nested: [{ apiKey: 'k', name: 'first' }],
      dbPassword: 'hunter2',
      count: 3,
      missingToken: undefined,
    };
    expect(redact(input)).toEqual({
      headers: { cookie: REDACTED, 'content-type': 'application/json' },
      nested: [{ apiKey: REDACTED, name: 'first' }],
      dbPassword: REDACTED,
      count: 3,
      missingToken: undefined,
    });
  });

  test('redacts a whole value under a sensitive key, whatever its type', () => {
    expect(redact({ 'set-cookie': ['a=1', 'b=2'], credentials: { user: 'u', pass: 'p' } })).toEqual({
      'set-cookie': REDACTED,
      credentials: REDACTED,
    });
  });

  test('does not modify its input', () => {
    const input = { password: 'hunter2', list: [{ token: 't' }] };
    redact(input);
    expect(input).toEqual({ password: 'hunter2', list: [{ token: 't' }] });
  });

  test('keeps an Error readable: name, message and stack survive, its properties are redacted', () => {
    const error = Object.assign(new Error(`login failed for ${JWT}`), { code: 'E_AUTH', authorization: 'x' });
    const copy = redact(error) as Record<string, unknown>;
    expect(copy).toMatchObject({ name: 'Error', message: `login failed for ${REDACTED}`, code: 'E_AUTH' });
    expect(copy.authorization).toBe(REDACTED);
    expect(copy.stack).toEqual(expect.stringContaining('login failed for [REDACTED]'));
    expect(JSON.stringify(copy)).not.toContain(JWT);
  });

  test('copes with an Error whose message and stack are not strings (as some libraries throw)', () => {
    const odd = new Error('x');
    Object.defineProperty(odd, 'message', { value: undefined });
    Object.defineProperty(odd, 'stack', { value: { not: 'a string' } });
    expect(() => redact(odd)).not.toThrow();
    expect(redact(odd)).toMatchObject({ name: 'Error' });
  });

  test('follows an Error cause', () => {
    const error = new Error('outer', { cause: { password: 'p', reason: 'inner' } });
    expect((redact(error) as Record<string, unknown>).cause).toEqual({ password: REDACTED, reason: 'inner' });
  });

  test('survives circular references, and still copies an object seen twice that is not a cycle', () => {
    const shared = { id: 1 };
    const node: Record<string, unknown> = { name: 'root', a: shared, b: shared };
    node.self = node;
    expect(redact(node)).toEqual({ name: 'root', a: { id: 1 }, b: { id: 1 }, self: '[Circular]' });
  });

  test('serialises values that JSON would mangle or that carry bytes', () => {
    const copy = redact({
      at: new Date('2024-01-02T03:04:05.000Z'),
      url: new URL('https://user:pw@example.com/?token=abc'),
      key: Buffer.from('secret bytes'),
      tags: new Set(['a']),
      byName: new Map([['password', 'p']]),
    });
    expect(copy).toEqual({
      at: '2024-01-02T03:04:05.000Z',
      url: `https://${REDACTED}@example.com/?token=${REDACTED}`,
      key: '[Binary 12 bytes]',
      tags: ['a'],
      byName: { password: REDACTED },
    });
  });

  test('treats a key named __proto__ as data, not as the prototype', () => {
    const input = JSON.parse('{"__proto__": {"token": "t"}, "ok": 1}') as object;
    const copy = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ token: REDACTED });
  });
});
