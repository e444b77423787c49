/**
 * Plain feature flags (`PUT /api/flags/{key}`): a default value and targeting rules, served to
 * GrowthBook's SDKs in the features payload (functions/core/growthbook.ts). Pure.
 *
 * Rules are tried in order; the first whose targeting admits the person (and whose rollout
 * share, by hash, includes them) gives its value; else the default.
 */
import * as z from 'zod/mini';
import { targetingSchema } from './experiments';
import { jsonHazard } from './json';
import './zod';

export const FLAG_LIMITS = { rules: 50, valueBytes: 16 * 1024, bodyBytes: 256 * 1024 } as const;

/** Keys are feature names in the SDKs and part of the item key: no `#`, no spaces. */
export const flagKeySchema = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
      'Expected 1..64 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)',
    ),
  );

/** Any JSON value (a boolean, a string, a number, an object), bounded like variant content. */
const valueSchema = z.unknown().check(
  z.superRefine((value, ctx) => {
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', message: 'Expected a JSON value', input: value });
      return;
    }
    const hazard = jsonHazard(value, { maxDepth: 8, maxKeys: 200, maxStringLength: 8 * 1024 });
    if (hazard) ctx.issues.push({ code: 'custom', message: hazard.message, input: value, path: hazard.path });
    else if (Buffer.byteLength(JSON.stringify(value)) > FLAG_LIMITS.valueBytes)
      ctx.issues.push({
        code: 'custom',
        message: `Exceeds ${FLAG_LIMITS.valueBytes} bytes of JSON`,
        input: value,
      });
  }),
);

const ruleSchema = z.strictObject({
  targeting: z.optional(targetingSchema),
  /** Share of the admitted persons who get the value (default 1). */
  rollout: z.optional(
    z
      .number()
      .check(z.gte(0, 'Expected a fraction from 0 to 1'), z.lte(1, 'Expected a fraction from 0 to 1')),
  ),
  value: valueSchema,
});

export const flagBodySchema = z.strictObject({
  defaultValue: valueSchema,
  rules: z._default(
    z.array(ruleSchema).check(z.maxLength(FLAG_LIMITS.rules, `At most ${FLAG_LIMITS.rules} rules`)),
    [],
  ),
  /** A disabled flag is left out of the payload (the SDK then answers its own fallback). */
  enabled: z._default(z.boolean(), true),
  description: z.optional(z.string().check(z.maxLength(1024))),
});
export type FlagBody = z.infer<typeof flagBodySchema>;

export interface StoredFlag extends FlagBody {
  key: string;
  version: number;
  updatedAt: string;
}
