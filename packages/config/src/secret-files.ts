import fs from 'node:fs';
import path from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where secrets are mounted when no NAME_FILE says otherwise (Docker and Kubernetes both use it). */
export const DEFAULT_SECRETS_DIR = '/run/secrets';

/** The environment variable that may name a secret's file: `cookie_secret` → `COOKIE_SECRET_FILE`. */
export function fileVariableFor(name: string): string {
  return `${envNameFor(name)}_FILE`;
}

export function envNameFor(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/**
 * Where the secret `name` lives: `NAME_FILE` if set, else `$SECRETS_DIR/name` (default /run/secrets).
 * A secret set as a plain environment variable is a configuration error: it would end up in
 * `docker inspect`, crash dumps and child processes.
 */
export function resolveSecretPath(
  name: string,
  env: Env,
): { path: string; explicit: boolean; problem?: string } {
  const plain = envNameFor(name);
  const fileVar = fileVariableFor(name);
  const dir = env.SECRETS_DIR || DEFAULT_SECRETS_DIR;
  const file = env[fileVar] || path.join(dir, name);
  const explicit = Boolean(env[fileVar]);
  if (env[plain] !== undefined) {
    return {
      path: file,
      explicit,
      problem: `secret ${plain} is set as a plain environment variable; secrets are read only from files: unset ${plain} and put the value in a file named by ${fileVar} (or ${path.join(dir, name)})`,
    };
  }
  return { path: file, explicit };
}

export type SecretFileRead = { ok: true; content: string } | { ok: false; problem: string };

/** Reads a secret file. Problems name the file and the reason, never the content. */
export function readSecretFile(name: string, file: string): SecretFileRead {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code ?? 'unknown error'})`;
    return { ok: false, problem: `secret ${name}: file ${file} ${reason}` };
  }
  if (content.trim() === '') return { ok: false, problem: `secret ${name}: file ${file} is empty` };
  return { ok: true, content };
}
