import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Every (issuer → audience) pair of the mesh: one key ring each (docs/adr/0002-user-token.md).
 * A service is handed only the rings it takes part in; in dev they all sit in one folder.
 */
export const TOKEN_PAIRS: readonly (readonly [string, string])[] = [
  ['gateway', 'auth'],
  ['gateway', 'files'],
  ['gateway', 'events'],
  ['gateway', 'jobs'],
  ['gateway', 'notes'],
  ['jobs', 'files'],
  ['jobs', 'events'],
];

/** Text secrets generated for local development (each its own file, mode 0600). */
export const DEV_TEXT_SECRETS = [
  'pg_superuser_password',
  'db_owner_password',
  'db_runtime_password',
  // The local OAuth provider accepts any client secret; auth still reads it from a file.
  'google_client_secret',
] as const;

/** Rolling-class key rings besides the token pairs. */
export const DEV_RINGS = ['cookie_keys', 'files_master_keys'] as const;

/**
 * Creates any missing dev secret in `dir` (mode 0700, files 0600) and never overwrites one, so
 * restarts keep sessions and data readable. Returns the names it created.
 */
export function ensureDevSecrets(dir: string): string[] {
  // Parents stay traversable (embedded Postgres keeps its data beside this folder).
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const created: string[] = [];
  const put = (name: string, content: () => string) => {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return;
    fs.writeFileSync(file, content(), { mode: 0o600, flag: 'wx' });
    created.push(name);
  };
  for (const name of DEV_TEXT_SECRETS) put(name, () => randomBytes(24).toString('base64url'));
  const ringNames = [
    ...TOKEN_PAIRS.map(([issuer, audience]) => `token_keys_${issuer}_${audience}`),
    ...DEV_RINGS,
  ];
  for (const name of ringNames) {
    put(name, () =>
      JSON.stringify(
        {
          keys: [
            { kid: `dev-${new Date().toISOString().slice(0, 10)}`, key: randomBytes(32).toString('base64') },
          ],
        },
        null,
        2,
      ),
    );
  }
  return created;
}

export function readDevSecret(dir: string, name: string): string {
  return fs.readFileSync(path.join(dir, name), 'utf8').trim();
}
