import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { KeyRing } from '@tenantmesh/config';
import type { Express } from 'express';
import request from 'supertest';
import { mintUserToken, type TokenKeys, verifyUserToken } from '../src';
import { craftToken, decodeSegment, segmentsOf } from './support/craft-token';
import { keyObjectOf, makeSecretsDir, newKey, type RingEntry, writeRing } from './support/ring-files';
import { buildTestApp } from './support/test-app';

const uid = randomUUID();

/**
 * One ring file shared by two processes' worth of KeyRing instances: the gateway's signer and
 * files' verifier each load it themselves, as two pods mounting the same secret would.
 */
function setUpPair(entries: RingEntry[]) {
  const secrets = makeSecretsDir();
  const file = writeRing(path.join(secrets.dir, 'token_keys_gateway_files'), entries);
  const signer = KeyRing.load('token_keys_gateway_files', file);
  const verifier = KeyRing.load('token_keys_gateway_files', file);
  const keys: TokenKeys = { signing: new Map(), verifying: new Map([['gateway', verifier]]) };
  const app = buildTestApp({ audience: 'files', trustedIssuers: ['gateway'], keys });
  const mint = (now?: Date) =>
    mintUserToken({ issuer: 'gateway', audience: 'files', uid, ring: signer, ...(now ? { now } : {}) });
  return { file, signer, verifier, keys, app, mint, remove: secrets.remove };
}

const kidOf = (token: string) => decodeSegment(segmentsOf(token)[0]).kid;
const statusOf = async (app: Express, token: string) =>
  (await request(app).get('/whoami').set('X-User-Token', token)).status;

describe('key rotation', () => {
  it('during the overlap, tokens from the old and the new key both verify and the signer switches to the new key', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const pair = setUpPair([k1]);
    try {
      const fromK1 = pair.mint();
      expect(kidOf(fromK1)).toBe('k1');

      writeRing(pair.file, [k1, k2]);
      expect(pair.verifier.reload()).toBe(true);
      expect(pair.signer.reload()).toBe(true);

      const fromK2 = pair.mint();
      expect(kidOf(fromK2)).toBe('k2');
      expect(await statusOf(pair.app, fromK1)).toBe(200);
      expect(await statusOf(pair.app, fromK2)).toBe(200);
    } finally {
      pair.remove();
    }
  });

  it('once the old key is dropped from the file, its tokens are refused as unknown_key by the same running app', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const pair = setUpPair([k1, k2]);
    try {
      const fromK1 = craftToken({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, gatewayClaims(), {
        hmac: 'sha256',
        key: keyObjectOf(k1),
      });
      expect(await statusOf(pair.app, fromK1)).toBe(200);

      writeRing(pair.file, [k2]);
      expect(pair.verifier.reload()).toBe(true);

      const res = await request(pair.app).get('/whoami').set('X-User-Token', fromK1);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 401,
        body: { code: 'token_invalid', reason: 'unknown_key' },
      });
      expect(await statusOf(pair.app, pair.mint())).toBe(200);
    } finally {
      pair.remove();
    }
  });

  it('a watched ring picks up a changed file by itself', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const pair = setUpPair([k1]);
    const fromK2 = craftToken({ alg: 'HS256', typ: 'JWT', kid: 'k2' }, gatewayClaims(), {
      hmac: 'sha256',
      key: keyObjectOf(k2),
    });
    pair.verifier.watch(50);
    try {
      expect(await statusOf(pair.app, fromK2)).toBe(401);
      writeRing(pair.file, [k1, k2]);
      await waitUntil(async () => (await statusOf(pair.app, fromK2)) === 200, 5000);
    } finally {
      pair.verifier.stop();
      pair.remove();
    }
  });

  it('a staged key (notBefore in the future) verifies but does not sign until its time comes', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000);
    const k1 = newKey('k1');
    const staged = newKey('k2', inAnHour);
    const pair = setUpPair([k1, staged]);
    try {
      expect(kidOf(pair.mint())).toBe('k1');
      const fromStaged = craftToken({ alg: 'HS256', typ: 'JWT', kid: 'k2' }, gatewayClaims(), {
        hmac: 'sha256',
        key: keyObjectOf(staged),
      });
      expect(await statusOf(pair.app, fromStaged)).toBe(200);

      const later = new Date(inAnHour.getTime() + 1000);
      const afterSwitch = pair.mint(later);
      expect(kidOf(afterSwitch)).toBe('k2');
      expect(
        verifyUserToken(afterSwitch, {
          audience: 'files',
          trustedIssuers: ['gateway'],
          keys: pair.keys,
          now: later,
        }).uid,
      ).toBe(uid);
    } finally {
      pair.remove();
    }
  });
});

function gatewayClaims(): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: 'gateway', sub: uid, aud: 'files', iat, exp: iat + 60, jti: randomUUID() };
}

/** Polls in small steps up to a deadline, so the test is as fast as the reload and never flaky-slow. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
