import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { MAX_TOKEN_HEADER_BYTES, mintUserToken, requireUser } from '../src';
import { craftToken, decodeSegment, encodeSegment, segmentsOf } from './support/craft-token';
import { buildTestApp, sendWithHeaders } from './support/test-app';
import { buildTokenWorld, gatewayClaims, KID } from './support/token-world';

type Reply = { status: number; body: unknown };

describe('requireUser', () => {
  const world = buildTokenWorld();
  const uid = randomUUID();
  let app: Express;

  beforeAll(() => {
    app = buildTestApp({ audience: 'files', trustedIssuers: ['gateway', 'jobs'], keys: world.files });
  });
  afterAll(() => world.remove());

  const gatewayKey = () => world.gatewayToFiles.signingKey().key;
  const validToken = () =>
    mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring: world.gatewayToFiles });
  /** A token signed with the right gateway→files key, HS256, kid in the ring: only the claims differ. */
  const signedClaims = (claims: unknown, header: Record<string, unknown> = {}) =>
    craftToken({ alg: 'HS256', typ: 'JWT', kid: KID, ...header }, claims, {
      hmac: 'sha256',
      key: gatewayKey(),
    });
  const send = (token: string) => request(app).get('/whoami').set('X-User-Token', token);
  const expectRefused = (res: Reply, reason: string) =>
    expect({ status: res.status, body: res.body }).toEqual({
      status: 401,
      body: { code: 'token_invalid', reason },
    });

  describe('lets through', () => {
    it('a valid token, handing the handler exactly its uid and nothing else', async () => {
      const res = await send(validToken());
      expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { uid, locals: ['uid'] } });
    });

    it('a valid token from every trusted issuer', async () => {
      const token = mintUserToken({ issuer: 'jobs', audience: 'files', uid, ring: world.jobsToFiles });
      const res = await send(token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ uid });
    });

    it('only the uid from the token, ignoring any uid in the query or the body', async () => {
      const other = randomUUID();
      const res = await request(app)
        .post(`/whoami?uid=${other}`)
        .set('X-User-Token', validToken())
        .send({ uid: other, sub: other });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ uid });
    });
  });

  describe('refuses', () => {
    it('a request without the header', async () => {
      expectRefused(await request(app).get('/whoami'), 'missing');
    });

    it('the header sent twice, even with the same valid token', async () => {
      const token = validToken();
      expectRefused(await sendWithHeaders(app, { 'x-user-token': [token, token] }), 'duplicated');
    });

    it('two tokens a proxy joined into one header', async () => {
      expectRefused(await send(`${validToken()}, ${validToken()}`), 'duplicated');
    });

    it('a header over 8 KiB, even when correctly signed', async () => {
      const token = signedClaims(gatewayClaims(uid, { pad: 'x'.repeat(MAX_TOKEN_HEADER_BYTES) }));
      expectRefused(await send(token), 'too_large');
    });

    it('a value that is not a JWT', async () => {
      expectRefused(await send('not-a-token'), 'malformed');
      expectRefused(await send('a.b.c'), 'malformed');
    });

    it('a token whose payload was changed after signing (another sub, same signature)', async () => {
      const [header, payload, signature] = segmentsOf(validToken());
      const forged = encodeSegment({ ...decodeSegment(payload), sub: randomUUID() });
      expectRefused(await send(`${header}.${forged}.${signature}`), 'bad_signature');
    });

    it('a token whose signature was changed', async () => {
      const [header, payload, signature] = segmentsOf(validToken());
      const flipped = (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1);
      expectRefused(await send(`${header}.${payload}.${flipped}`), 'bad_signature');
    });

    it('an unsigned alg:none token', async () => {
      const token = craftToken({ alg: 'none', typ: 'JWT', kid: KID }, gatewayClaims(uid), 'unsigned');
      expectRefused(await send(token), 'bad_algorithm');
    });

    it('an HS384 token, even signed with the right key', async () => {
      const token = craftToken({ alg: 'HS384', typ: 'JWT', kid: KID }, gatewayClaims(uid), {
        hmac: 'sha384',
        key: gatewayKey(),
      });
      expectRefused(await send(token), 'bad_algorithm');
    });

    it('an RS256 token', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const token = craftToken({ alg: 'RS256', typ: 'JWT', kid: KID }, gatewayClaims(uid), {
        rsa: privateKey,
      });
      expectRefused(await send(token), 'bad_algorithm');
    });

    it('a token minted for another service', async () => {
      expectRefused(await send(signedClaims(gatewayClaims(uid, { aud: 'events' }))), 'wrong_audience');
    });

    it('a token addressed to several services, even when this one is among them', async () => {
      expectRefused(
        await send(signedClaims(gatewayClaims(uid, { aud: ['files', 'events'] }))),
        'wrong_audience',
      );
    });

    it('a token the gateway minted for events, replayed at files (pairwise keys)', async () => {
      const token = mintUserToken({
        issuer: 'gateway',
        audience: 'events',
        uid,
        ring: world.gatewayToEvents,
      });
      expectRefused(await send(token), 'bad_signature');
    });

    it('a token a compromised jobs service forges in the gateway’s name', async () => {
      const jobsKey = world.jobsToFiles.signingKey().key;
      const token = craftToken({ alg: 'HS256', typ: 'JWT', kid: KID }, gatewayClaims(uid), {
        hmac: 'sha256',
        key: jobsKey,
      });
      expectRefused(await send(token), 'bad_signature');
    });

    it('a token from an issuer nobody trusts', async () => {
      expectRefused(await send(signedClaims(gatewayClaims(uid, { iss: 'mallory' }))), 'untrusted_issuer');
      expectRefused(await send(signedClaims(gatewayClaims(uid, { iss: undefined }))), 'untrusted_issuer');
    });

    it('a correctly signed token from a service holding a ring here but not trusted by this route', async () => {
      const verifying = new Map([...world.files.verifying, ['auth', world.authToFiles]]);
      const strict = buildTestApp({
        audience: 'files',
        trustedIssuers: ['gateway', 'jobs'],
        keys: { verifying },
      });
      const token = mintUserToken({ issuer: 'auth', audience: 'files', uid, ring: world.authToFiles });
      expectRefused(await request(strict).get('/whoami').set('X-User-Token', token), 'untrusted_issuer');
    });

    it('a token whose kid is not in the ring', async () => {
      expectRefused(await send(signedClaims(gatewayClaims(uid), { kid: 'retired-key' })), 'unknown_key');
    });

    it('a token without a kid', async () => {
      expectRefused(await send(signedClaims(gatewayClaims(uid), { kid: undefined })), 'malformed');
    });

    it('an expired token', async () => {
      const token = mintUserToken({
        issuer: 'gateway',
        audience: 'files',
        uid,
        ring: world.gatewayToFiles,
        now: new Date(Date.now() - 120_000),
      });
      expectRefused(await send(token), 'expired');
    });

    it('a token before its nbf', async () => {
      const nbf = Math.floor(Date.now() / 1000) + 60;
      expectRefused(await send(signedClaims(gatewayClaims(uid, { nbf }))), 'not_yet_valid');
    });

    it('a token issued in the future', async () => {
      const iat = Math.floor(Date.now() / 1000) + 60;
      expectRefused(await send(signedClaims(gatewayClaims(uid, { iat, exp: iat + 60 }))), 'not_yet_valid');
    });

    it('a token without a subject', async () => {
      expectRefused(await send(signedClaims(gatewayClaims(uid, { sub: undefined }))), 'bad_subject');
    });

    it('a token whose subject is not a UUID', async () => {
      expectRefused(await send(signedClaims(gatewayClaims('alice'))), 'bad_subject');
      expectRefused(await send(signedClaims(gatewayClaims(uid.toUpperCase()))), 'bad_subject');
    });

    it('a token living longer than 300 seconds', async () => {
      const iat = Math.floor(Date.now() / 1000);
      expectRefused(
        await send(signedClaims(gatewayClaims(uid, { iat, exp: iat + 301 }))),
        'lifetime_too_long',
      );
    });

    it('a token without exp, iat or jti', async () => {
      for (const claim of ['exp', 'iat', 'jti']) {
        expectRefused(await send(signedClaims(gatewayClaims(uid, { [claim]: undefined }))), 'missing_claim');
      }
    });
  });

  it('refuses to start when a trusted issuer has no key ring', () => {
    expect(() =>
      requireUser({ audience: 'files', trustedIssuers: ['gateway', 'auth'], keys: world.files }),
    ).toThrow(/trusts "auth" but has no key ring/);
  });
});
