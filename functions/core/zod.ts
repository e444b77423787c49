/**
 * zod, set up once. Functions use `zod/mini` (tree-shakeable: a fraction of the classic
 * build in every bundle) with only the English locale, and turn issues into the problem+json field
 * errors (docs/api.md, Errors) here. Import it as `import * as z from 'zod/mini'` in each module: re-exporting
 * the namespace as a value would defeat tree-shaking and pull every locale into bundles.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { dottedPath, type FieldError } from './problem';

z.config(en());

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown => {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
};

/** zod issues → `[{path: 'events.3.userId', message}]`, with "Required" for absent fields. */
export const fieldErrors = (
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
  input: unknown = {},
) =>
  issues.map(
    (issue): FieldError => ({
      path: dottedPath([...prefix, ...issue.path]),
      message:
        issue.code !== 'custom' && issue.path.length > 0 && valueAt(input, issue.path) === undefined
          ? 'Required'
          : issue.message,
    }),
  );

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const parseWith = <T>(
  schema: z.ZodMiniType<T>,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): ParseResult<T> => {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, errors: fieldErrors(result.error.issues, prefix, input) };
};
