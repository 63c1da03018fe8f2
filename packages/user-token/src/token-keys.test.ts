import path from 'node:path';
import { KeyRing, loadConfig } from '@tenantmesh/config';
import { makeSecretsDir, newKey, writeRing } from '../test/support/ring-files';
import { tokenKeySecretName, tokenKeySecrets, tokenKeysFrom, watchTokenKeys } from './token-keys';

const jobsPlan = { service: 'jobs', audiences: ['files', 'events'], trustedIssuers: ['gateway'] };

describe('token keys', () => {
  it('names one ring secret per (issuer → audience) pair the service takes part in', () => {
    expect(tokenKeySecrets(jobsPlan)).toEqual({
      token_keys_jobs_files: { kind: 'ring', name: 'token_keys_jobs_files' },
      token_keys_jobs_events: { kind: 'ring', name: 'token_keys_jobs_events' },
      token_keys_gateway_jobs: { kind: 'ring', name: 'token_keys_gateway_jobs' },
    });
  });

  it('refuses service names that could make two pairs share one secret', () => {
    // token_keys_a_b_c and TOKEN_KEYS_A_B_C_FILE could be a→b_c or a_b→c (or a-b→c).
    for (const bad of ['a_b', 'a-b', 'Files', '', '1files']) {
      expect(() => tokenKeySecretName(bad, 'files')).toThrow(TypeError);
      expect(() => tokenKeySecretName('gateway', bad)).toThrow(TypeError);
    }
  });

  it('builds the signing and verifying maps from rings loaded by loadConfig', () => {
    const secrets = makeSecretsDir();
    try {
      for (const name of Object.keys(tokenKeySecrets(jobsPlan)))
        writeRing(path.join(secrets.dir, name), [newKey('k1')]);
      const config = loadConfig(
        { SECRETS_DIR: secrets.dir },
        { settings: {}, secrets: tokenKeySecrets(jobsPlan) },
      );
      const keys = tokenKeysFrom(config.secrets, jobsPlan);
      expect([...keys.signing.keys()]).toEqual(['files', 'events']);
      expect([...keys.verifying.keys()]).toEqual(['gateway']);
      expect(keys.signing.get('events')?.name).toBe('token_keys_jobs_events');
      expect(keys.verifying.get('gateway')?.name).toBe('token_keys_gateway_jobs');
    } finally {
      secrets.remove();
    }
  });

  it('fails fast when a pair’s ring was not loaded', () => {
    expect(() => tokenKeysFrom({}, jobsPlan)).toThrow(/secret token_keys_jobs_files is not loaded/);
  });

  it('watchTokenKeys keeps every ring it holds in step with its file', async () => {
    const secrets = makeSecretsDir();
    try {
      const signingFile = writeRing(path.join(secrets.dir, 'token_keys_jobs_files'), [newKey('k1')]);
      const verifyingFile = writeRing(path.join(secrets.dir, 'token_keys_gateway_jobs'), [newKey('k1')]);
      const signing = KeyRing.load('token_keys_jobs_files', signingFile);
      const verifying = KeyRing.load('token_keys_gateway_jobs', verifyingFile);
      const stop = watchTokenKeys(
        { signing: new Map([['files', signing]]), verifying: new Map([['gateway', verifying]]) },
        20,
      );
      try {
        writeRing(signingFile, [newKey('k1'), newKey('k2')]);
        writeRing(verifyingFile, [newKey('k1'), newKey('k3')]);
        const deadline = Date.now() + 5000;
        while (!(signing.kids.includes('k2') && verifying.kids.includes('k3'))) {
          if (Date.now() > deadline) throw new Error('rings were not reloaded within 5 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        stop();
      }
    } finally {
      secrets.remove();
    }
  });
});
