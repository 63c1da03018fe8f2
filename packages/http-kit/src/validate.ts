import type { z } from 'zod';
import { errors } from './errors';

/** Parses untrusted input with a zod schema; failures become 400 validation_failed with the issues. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw errors.validationFailed(
    'the request is not valid',
    result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}
