import type { z } from 'zod';
import { ConfigError } from './errors';
import { KeyRing, type KeyRingOptions, parseKeyRing } from './key-ring';
import { type Env, readSecretFile, resolveSecretPath } from './secret-files';

/**
 * Secrets come in two rotation classes (docs/secrets.md):
 * - `ring`: rolling — a key ring re-read live from its file, no restart;
 * - `text`: restart — read once at startup (database passwords, OAuth client secret).
 */
export type SecretSpec =
  | { kind: 'text'; name: string; optional?: boolean; minLength?: number }
  | { kind: 'ring'; name: string; optional?: boolean };

export function textSecret<const O extends { optional?: boolean; minLength?: number } = Record<never, never>>(
  name: string,
  opts?: O,
): { kind: 'text'; name: string } & O {
  return { kind: 'text', name, ...(opts ?? ({} as O)) };
}

export function keyRingSecret<const O extends { optional?: boolean } = Record<never, never>>(
  name: string,
  opts?: O,
): { kind: 'ring'; name: string } & O {
  return { kind: 'ring', name, ...(opts ?? ({} as O)) };
}

type SecretValue<S extends SecretSpec> = S extends { kind: 'ring' }
  ? S extends { optional: true }
    ? KeyRing | undefined
    : KeyRing
  : S extends { optional: true }
    ? string | undefined
    : string;

export type LoadedConfig<
  Settings extends Record<string, z.ZodType>,
  Secrets extends Record<string, SecretSpec>,
> = Readonly<{ [K in keyof Settings]: Readonly<z.output<Settings[K]>> }> & {
  readonly secrets: Readonly<{ [K in keyof Secrets]: SecretValue<Secrets[K]> }>;
};

export interface LoadConfigOptions {
  ringOptions?: KeyRingOptions;
}

/**
 * Validates every settings model against the environment and reads every secret file, then
 * throws ONE ConfigError listing all problems, or returns a frozen, typed object.
 */
export function loadConfig<
  Settings extends Record<string, z.ZodType>,
  Secrets extends Record<string, SecretSpec> = Record<never, SecretSpec>,
>(
  env: Env,
  spec: { settings: Settings; secrets?: Secrets },
  options: LoadConfigOptions = {},
): LoadedConfig<Settings, Secrets> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};

  for (const [concern, schema] of Object.entries(spec.settings)) {
    const parsed = schema.safeParse(env);
    if (parsed.success) {
      out[concern] = deepFreeze(parsed.data);
    } else {
      for (const issue of parsed.error.issues) {
        const where = issue.path.length ? issue.path.join('.') : concern;
        problems.push(`${where}: ${issue.message}`);
      }
    }
  }

  const secrets: Record<string, unknown> = {};
  for (const [key, secret] of Object.entries(spec.secrets ?? {}) as [string, SecretSpec][]) {
    const resolved = resolveSecretPath(secret.name, env);
    if (resolved.problem) {
      problems.push(resolved.problem);
      continue;
    }
    const read = readSecretFile(secret.name, resolved.path);
    if (!read.ok) {
      // Optional means "may be absent from the secrets dir"; a NAME_FILE that points nowhere is a typo.
      if (secret.optional && !resolved.explicit && read.problem.endsWith('does not exist')) continue;
      problems.push(read.problem);
      continue;
    }
    if (secret.kind === 'text') {
      const value = read.content.replace(/\r?\n$/, '');
      const min = secret.minLength ?? 1;
      if (value.length < min) {
        problems.push(
          `secret ${secret.name}: file ${resolved.path} holds ${value.length} characters, at least ${min} are required`,
        );
        continue;
      }
      secrets[key] = value;
    } else {
      try {
        secrets[key] = new KeyRing(
          secret.name,
          resolved.path,
          parseKeyRing(secret.name, resolved.path, read.content),
          options.ringOptions,
        );
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  }

  if (problems.length) throw new ConfigError(problems);
  out.secrets = Object.freeze(secrets);
  return Object.freeze(out) as LoadedConfig<Settings, Secrets>;
}

function deepFreeze<T>(value: T): T {
  if (
    value &&
    typeof value === 'object' &&
    (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)
  ) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
