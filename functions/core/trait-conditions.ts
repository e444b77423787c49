/**
 * Conditions on declared traits (functions/core/traits.ts), for segment rules
 * (functions/core/rules.ts) and experiment and promotion targeting: equals, in, gt and/or lt
 * (numbers, or dates given as ISO strings), exists, and withinDays for dates. List traits match
 * when any item does. Pure; on its own so that experiments can use it without rules' imports.
 */
import * as z from 'zod/mini';
import type { PersonStats } from './person';
import { dottedPath, type FieldError } from './problem';
import { traitNameSchema } from './traits';

const DAY_MS = 86_400_000;
const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);

/** A boolean step function of time from `now` on (rules.ts Timeline). */
export interface Timeline {
  value: boolean;
  flips: number[];
}
const constant = (value: boolean): Timeline => ({ value, flips: [] });

export const TRAIT_OPERATORS = ['equals', 'in', 'gt', 'lt', 'exists', 'withinDays'] as const;
const scalar = z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean()]);
/** A bound: a number, or an ISO date or date-time for date traits. */
const bound = z.union([
  z.number(),
  z.string().check(z.refine((v) => !Number.isNaN(Date.parse(v)), 'Expected a number or an ISO date')),
]);
export const traitConditionSchema = z.object({
  trait: traitNameSchema,
  equals: z.optional(scalar),
  in: z.optional(z.array(scalar).check(z.minLength(1), z.maxLength(100))),
  gt: z.optional(bound),
  lt: z.optional(bound),
  exists: z.optional(z.boolean()),
  withinDays: z.optional(z.int().check(z.gte(1), z.lte(3650))),
});
export type TraitCondition = z.infer<typeof traitConditionSchema>;

/** One operator per condition (gt and lt together make a range). */
export const traitOperatorErrors = (value: TraitCondition, path: readonly PropertyKey[]): FieldError[] => {
  const given = TRAIT_OPERATORS.filter((op) => value[op] !== undefined);
  const range = given.every((op) => op === 'gt' || op === 'lt');
  if (given.length === 0)
    return [{ path: dottedPath([...path, 'equals']), message: `Give one of ${TRAIT_OPERATORS.join(', ')}` }];
  if (given.length > 1 && !range)
    return [
      {
        path: dottedPath([...path, given[1] as string]),
        message: `One operator per condition, not ${given.join(' and ')}`,
      },
    ];
  if (value.gt !== undefined && value.lt !== undefined && typeof value.gt !== typeof value.lt)
    return [{ path: dottedPath([...path, 'lt']), message: 'gt and lt must both be numbers or both dates' }];
  return [];
};

/** A trait's value on the person; an unset trait (null) is absent. */
const traitOf = (stats: PersonStats, name: string) => {
  const entry = stats.traits && Object.hasOwn(stats.traits, name) ? stats.traits[name] : undefined;
  return entry?.v ?? undefined;
};

const asComparable = (v: unknown, like: number | string): number | undefined => {
  if (typeof like === 'number') return typeof v === 'number' ? v : undefined;
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};
const boundOf = (b: number | string): number => (typeof b === 'number' ? b : Date.parse(b));

/**
 * A trait condition from `now` on. Only `withinDays` changes with time: a date is in the window
 * from that moment until 00:00 UTC of its day + n (as the other windows), so a future date holds
 * once it comes.
 */
export const traitTimeline = (c: TraitCondition, stats: PersonStats, now: number): Timeline => {
  const v = traitOf(stats, c.trait);
  const items: readonly unknown[] = Array.isArray(v) ? v : v === undefined ? [] : [v];
  if (c.exists !== undefined) return constant(c.exists === (v !== undefined));
  if (c.equals !== undefined) return constant(items.includes(c.equals));
  if (c.in !== undefined) return constant(items.some((i) => (c.in as unknown[]).includes(i)));
  if (c.withinDays !== undefined) {
    const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(ms)) return constant(false);
    const leaves = (dayNumber(ms) + c.withinDays) * DAY_MS;
    if (leaves <= now) return constant(false);
    return ms > now ? { value: false, flips: [ms, leaves] } : { value: true, flips: [leaves] };
  }
  const like = (c.gt ?? c.lt) as number | string;
  return constant(
    items.some((i) => {
      const x = asComparable(i, like);
      return (
        x !== undefined &&
        (c.gt === undefined || x > boundOf(c.gt)) &&
        (c.lt === undefined || x < boundOf(c.lt))
      );
    }),
  );
};

/** A trait condition alone, as experiment targeting takes it (one zod schema, one operator). */
export const traitTargetSchema = traitConditionSchema.check(
  z.superRefine((value, ctx) => {
    for (const e of traitOperatorErrors(value, []))
      ctx.issues.push({ code: 'custom', message: e.message, input: value, path: [e.path] });
  }),
);

/** Do all these trait conditions hold for the person now? (Experiment and promotion audiences.) */
export const traitsHold = (conditions: readonly TraitCondition[], stats: PersonStats, now: Date): boolean =>
  conditions.every((c) => traitTimeline(c, stats, now.getTime()).value);
