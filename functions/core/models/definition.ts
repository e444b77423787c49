/**
 * What an admin declares about a model (`PUT /api/models/{name}`), and what a trained version
 * of it holds. Pure.
 *
 * Three kinds: `propensity` (the probability that a person does `target.type` in the next
 * `horizonDays`), `at-risk` (the probability that a person active in the last 28 days does
 * nothing in the next `horizonDays`) — both L2-regularised logistic regressions, evaluated on a
 * held-out set and published only past the gate — and `engagement` (RFM percentiles, no training).
 */
import * as z from 'zod/mini';
import { EVENT_TYPES } from '../events';
import { type FieldError, Problem } from '../problem';
import { tagSchema } from '../tags';
import { parseWith } from '../zod';
import type { Evaluation } from './evaluation';
import { MAX_HORIZON_DAYS } from './features';
import type { Scaler } from './standardise';

export const MODEL_KINDS = ['propensity', 'at-risk', 'engagement'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
/** `manual`: trained only on `POST /api/models/{name}/train`. */
export const MODEL_SCHEDULES = ['manual', 'daily', 'weekly'] as const;
export type ModelSchedule = (typeof MODEL_SCHEDULES)[number];
export const SCHEDULE_HOURS: Record<ModelSchedule, number | undefined> = {
  manual: undefined,
  daily: 24,
  weekly: 168,
};
export const MODEL_NAME_PATTERN = /^[a-z0-9_-]{1,48}$/;
export const MAX_MODEL_TAGS = 10;

export const modelNameSchema = z
  .string()
  .check(z.regex(MODEL_NAME_PATTERN, 'Expected 1..48 characters of a-z, 0-9, _ and -'));

const unit = z.number().check(z.gte(0), z.lte(1));
const percent = z.number().check(z.gte(0), z.lte(100));

/** When a model sets a tag: bounds on the percentile (0..100) and/or the score (0..1). */
export const tagWhenSchema = z.strictObject({
  percentileAtLeast: z.optional(percent),
  percentileAtMost: z.optional(percent),
  probabilityAtLeast: z.optional(unit),
  probabilityAtMost: z.optional(unit),
});
export type TagWhen = z.infer<typeof tagWhenSchema>;

export const modelBodySchema = z.strictObject({
  kind: z.enum(MODEL_KINDS),
  target: z.optional(z.strictObject({ type: z.enum(EVENT_TYPES) })),
  horizonDays: z.optional(z.int().check(z.gte(1), z.lte(MAX_HORIZON_DAYS))),
  schedule: z.optional(z.enum(MODEL_SCHEDULES)),
  tags: z.optional(
    z.array(z.strictObject({ tag: tagSchema, when: tagWhenSchema })).check(z.maxLength(MAX_MODEL_TAGS)),
  ),
  /** L2 penalty on the standardised coefficients (default 1). */
  lambda: z.optional(z.number().check(z.gte(0), z.lte(1e6))),
  description: z.optional(z.string().check(z.maxLength(500))),
});
export type ModelBody = z.infer<typeof modelBodySchema>;

export interface ModelDefinition {
  name: string;
  kind: ModelKind;
  target?: { type: (typeof EVENT_TYPES)[number] };
  horizonDays: number;
  schedule: ModelSchedule;
  tags: { tag: string; when: TagWhen }[];
  lambda: number;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

export const DEFAULT_HORIZON_DAYS = 14;

/** The body as a definition, or a 400 naming each problem's field. */
export const parseModelBody = (
  name: string,
  body: unknown,
  now: Date,
  previous?: ModelDefinition,
): ModelDefinition => {
  const parsed = parseWith(modelBodySchema, body ?? {});
  if (!parsed.ok) throw new Problem(400, 'validation_failed', 'Invalid model', parsed.errors);
  const b = parsed.value;
  const errors: FieldError[] = [];
  if (b.kind === 'propensity' && !b.target)
    errors.push({ path: 'target', message: 'A propensity model needs a target event type' });
  if (b.kind !== 'propensity' && b.target)
    errors.push({ path: 'target', message: `A ${b.kind} model has no target` });
  for (const [i, t] of (b.tags ?? []).entries())
    if (Object.keys(t.when).length === 0)
      errors.push({
        path: `tags.${i}.when`,
        message: 'Give at least one of percentileAtLeast/AtMost, probabilityAtLeast/AtMost',
      });
  if (errors.length > 0) throw new Problem(400, 'validation_failed', 'Invalid model', errors);
  const at = now.toISOString();
  return {
    name,
    kind: b.kind,
    ...(b.target && { target: b.target }),
    horizonDays: b.horizonDays ?? DEFAULT_HORIZON_DAYS,
    schedule: b.schedule ?? 'weekly',
    tags: b.tags ?? [],
    lambda: b.lambda ?? 1,
    ...(b.description !== undefined && { description: b.description }),
    createdAt: previous?.createdAt ?? at,
    updatedAt: at,
  };
};

/** The tag source a model's tags carry. */
export const modelSource = (name: string): `model:${string}` => `model:${name}`;

/** A trained (or, for engagement, fitted) version of a model: everything scoring and explaining need. */
export interface ModelVersion {
  name: string;
  version: number;
  kind: ModelKind;
  trainedAt: string;
  /** The cut-off day (features as of its end; the label from the horizon after it). */
  cutoff: string;
  horizonDays: number;
  target?: { type: string };
  trainingRows: number;
  heldOutRows: number;
  features: readonly string[];
  scaler?: Scaler;
  /** On standardised features, intercept first. */
  coefficients?: number[];
  standardErrors?: number[];
  lambda?: number;
  evaluation?: Evaluation;
  gate: { passed: boolean; reasons: string[] };
  /** Sorted sample of the population's scores now: a score's percentile is its rank in it. */
  reference: number[];
  /** Engagement: sorted samples of recency, frequency and monetary value. */
  rfm?: { recency: number[]; frequency: number[]; monetary: number[] };
  published: boolean;
  /** Milliseconds the fit took. */
  trainingMs: number;
}

/** A person's score by one model, as the person item keeps it. */
export interface PersonScore {
  version: number;
  /** Probability (propensity, at-risk) or the RFM composite (engagement), 0..1. */
  score: number;
  /** 0..100: the share of the population scoring at or below, ties counted half. */
  percentile: number;
  /** Tags the score earns by the model's declaration. */
  tags: string[];
  scoredAt: string;
}
