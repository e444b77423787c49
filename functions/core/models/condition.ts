/**
 * The segment-rule condition on a model's score (functions/core/rules.ts):
 * `{"model": "buyers", "percentileAtLeast": 90}`, with percentileAtLeast/AtMost (0..100) and
 * scoreAtLeast/AtMost (0..1). It reads the score the person item keeps, so it holds or not until
 * the person is scored again (by the consumer or the next run): it never changes with time alone.
 * A person the model does not score (not yet, not eligible, or without personalisation) fails it.
 */
import * as z from 'zod/mini';
import type { PersonStats } from '../person';
import { dottedPath, type FieldError } from '../problem';
import { modelNameSchema } from './definition';

export interface ModelCondition {
  model: string;
  percentileAtLeast?: number;
  percentileAtMost?: number;
  scoreAtLeast?: number;
  scoreAtMost?: number;
}

const percent = z.number().check(z.gte(0), z.lte(100));
const unit = z.number().check(z.gte(0), z.lte(1));
export const modelConditionSchema = z.object({
  model: modelNameSchema,
  percentileAtLeast: z.optional(percent),
  percentileAtMost: z.optional(percent),
  scoreAtLeast: z.optional(unit),
  scoreAtMost: z.optional(unit),
});
export const MODEL_CONDITION_FIELDS = [
  'model',
  'percentileAtLeast',
  'percentileAtMost',
  'scoreAtLeast',
  'scoreAtMost',
];

export const modelConditionErrors = (c: ModelCondition, path: readonly PropertyKey[]): FieldError[] =>
  MODEL_CONDITION_FIELDS.slice(1).some((k) => c[k as keyof ModelCondition] !== undefined)
    ? []
    : [{ path: dottedPath([...path, 'percentileAtLeast']), message: 'Give a percentile or score bound' }];

export const modelConditionHolds = (c: ModelCondition, stats: PersonStats): boolean => {
  const s = stats.scores && Object.hasOwn(stats.scores, c.model) ? stats.scores[c.model] : undefined;
  if (!s) return false;
  return (
    (c.percentileAtLeast === undefined || s.percentile >= c.percentileAtLeast) &&
    (c.percentileAtMost === undefined || s.percentile <= c.percentileAtMost) &&
    (c.scoreAtLeast === undefined || s.score >= c.scoreAtLeast) &&
    (c.scoreAtMost === undefined || s.score <= c.scoreAtMost)
  );
};
