/** Query-string parameters shared by list routes. Pure. */

import * as z from 'zod/mini';
import { Problem } from './problem';
import { parseWith } from './zod';

export const pageQuerySchema = z.object({
  limit: z._default(
    z
      .pipe(
        z.string().check(z.regex(/^\d{1,4}$/, 'Expected an integer 1..1000')),
        z.transform((s) => Number(s)),
      )
      .check(z.refine((n: number) => n >= 1 && n <= 1000, 'Expected an integer 1..1000')),
    50,
  ),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});

/** Parse query parameters with a schema; errors name the parameter. */
export const parseQuery = <T>(
  schema: z.ZodMiniType<T>,
  query: Record<string, string | undefined> | undefined,
): T => {
  const result = parseWith(schema, query ?? {});
  if (!result.ok) throw new Problem(400, 'validation_failed', 'Invalid query parameters', result.errors);
  return result.value;
};

/** Parse a JSON body with a schema; errors name the field. */
export const parseBody = <T>(schema: z.ZodMiniType<T>, body: unknown): T => {
  const result = parseWith(schema, body);
  if (!result.ok) throw new Problem(400, 'validation_failed', 'Invalid request body', result.errors);
  return result.value;
};
