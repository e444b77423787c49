/**
 * Segment rules: a small declarative language over a person's stats (functions/core/person.ts),
 * its validation (every error names its path inside the rule, e.g. `when.all.1.withinDays`),
 * and its evaluation. Pure.
 *
 * A rule is `{"tag": "frequent_viewer", "when": <condition>}`. Conditions:
 *
 *   {"type": "video-play", "atLeast": 5, "withinDays": 7}   events of a type (or "any") counted
 *   {"type": "click", "atMost": 0, "withinDays": 30}          in a window; atLeast, atMost or both;
 *                                                           without withinDays: lifetime counts
 *   {"campaign": "summer", "withinDays": 14}                a campaign touched (in a window, or ever)
 *   {"channel": "email"}                                    a channel ever seen
 *   {"conversionValue": {"currency": "EUR", "atLeast": 100}} lifetime conversion value (atMost too)
 *   {"lastSeenWithinDays": 7}                               any event in the window
 *   {"inactiveForDays": 30}                                 no event in the window (never seen: true)
 *   {"model": "buyers", "percentileAtLeast": 90}            a model's score (docs/models.md): its
 *                                                           percentile and/or score (0..1); unscored: false
 *   {"trait": "plan", "equals": "pro"}                       a declared trait (functions/core/traits.ts):
 *   {"trait": "plan", "in": ["pro", "team"]}                equals, in, gt and/or lt (numbers, or
 *   {"trait": "seats", "gt": 10, "lt": 100}                 dates given as ISO strings), exists, and
 *   {"trait": "email", "exists": true}                      withinDays for dates (the date is in the
 *   {"trait": "signedUpAt", "withinDays": 7}                last n days); list traits match any item
 *   {"all": [...]}, {"any": [...]}, {"not": {...}}
 *
 * Conversion counts are `{"type": "conversion", ...}`.
 *
 * Windows are whole UTC days, the unit of the stats' daily counts: `withinDays: n` at time t
 * covers t's UTC day and the n−1 days before it, and any later day (events may be stamped up
 * to 24 h ahead). So a day D stays in the window until the start (00:00 UTC) of day D + n.
 * Recency and campaign windows use the UTC day of the last-seen time the same way.
 *
 * Evaluation gives the outcome now and, exactly, the next time it changes if no event arrives
 * (`nextCheck`): each condition is a step function of time — a count only falls as days leave
 * its window — and `all`/`any`/`not` combine those steps.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { CHANNELS, campaignIdSchema, EVENT_TYPES } from './events';
import { stableStringify } from './json';
import {
  MODEL_CONDITION_FIELDS,
  type ModelCondition,
  modelConditionErrors,
  modelConditionHolds,
  modelConditionSchema,
} from './models/condition';
import { DAILY_WINDOW_DAYS, type PersonStats } from './person';
import { dottedPath, type FieldError, Problem } from './problem';
import { TAG_MESSAGE, TAG_PATTERN } from './tags';
import {
  TRAIT_OPERATORS,
  type TraitCondition,
  traitConditionSchema,
  traitOperatorErrors,
  traitTimeline,
} from './trait-conditions';
import { parseWith } from './zod';

export const RULE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Count windows read the daily counts, which go back this far. */
export const MAX_COUNT_WINDOW_DAYS = DAILY_WINDOW_DAYS;
/** Recency and campaign windows read a last-seen time, which has no such horizon. */
export const MAX_RECENCY_DAYS = 3650;
export const MAX_CHILDREN = 20;
export const MAX_DEPTH = 6;
export const MAX_CONDITIONS = 64;

export type CountType = (typeof EVENT_TYPES)[number] | 'any';

export type Condition =
  | { type: CountType; atLeast?: number; atMost?: number; withinDays?: number }
  | { campaign: string; withinDays?: number }
  | { channel: (typeof CHANNELS)[number] }
  | { conversionValue: { currency: string; atLeast?: number; atMost?: number } }
  | { lastSeenWithinDays: number }
  | { inactiveForDays: number }
  | ModelCondition
  | TraitCondition
  | { all: readonly Condition[] }
  | { any: readonly Condition[] }
  | { not: Condition };

export interface RuleBody {
  tag: string;
  when: Condition;
  description?: string;
}

export interface SegmentRule extends RuleBody {
  ruleId: string;
}

/** What the outcome writer needs of a rule. */
export interface RuleRef {
  ruleId: string;
  tag: string;
}

export interface RuleOutcome {
  rule: RuleRef;
  holds: boolean;
  /** ISO time the outcome next changes without any new event; absent when it never does. */
  nextCheck?: string;
}

// ---------------------------------------------------------------------------------------------
// Validation

const DAY_MS = 86_400_000;
const days = (max: number) => z.int().check(z.gte(1), z.lte(max));
const count = (min: number) => z.int().check(z.gte(min), z.lte(1_000_000_000));
const amount = z.number().check(z.gte(-1e12), z.lte(1e12));

/** One schema per kind of condition, keyed by the field that names the kind. */
const KINDS = {
  type: z.object({
    type: z.enum([...EVENT_TYPES, 'any']),
    atLeast: z.optional(count(1)),
    atMost: z.optional(count(0)),
    withinDays: z.optional(days(MAX_COUNT_WINDOW_DAYS)),
  }),
  campaign: z.object({
    campaign: campaignIdSchema,
    withinDays: z.optional(days(MAX_RECENCY_DAYS)),
  }),
  channel: z.object({ channel: z.enum(CHANNELS) }),
  conversionValue: z.object({
    conversionValue: z.strictObject({
      currency: z.string().check(z.regex(/^[A-Z]{3}$/, 'Expected an ISO-4217 code, e.g. EUR')),
      atLeast: z.optional(amount),
      atMost: z.optional(amount),
    }),
  }),
  lastSeenWithinDays: z.object({ lastSeenWithinDays: days(MAX_RECENCY_DAYS) }),
  inactiveForDays: z.object({ inactiveForDays: days(MAX_RECENCY_DAYS) }),
  model: modelConditionSchema,
  trait: traitConditionSchema,
} as const;
type LeafKind = keyof typeof KINDS;
const COMBINATORS = ['all', 'any', 'not'] as const;
const ALL_KINDS = [...(Object.keys(KINDS) as LeafKind[]), ...COMBINATORS];

/** Fields each kind accepts (the unknown-field check names the field itself). */
const FIELDS: Record<LeafKind | (typeof COMBINATORS)[number], readonly string[]> = {
  type: ['type', 'atLeast', 'atMost', 'withinDays'],
  campaign: ['campaign', 'withinDays'],
  channel: ['channel'],
  conversionValue: ['conversionValue'],
  lastSeenWithinDays: ['lastSeenWithinDays'],
  inactiveForDays: ['inactiveForDays'],
  model: MODEL_CONDITION_FIELDS,
  trait: ['trait', ...TRAIT_OPERATORS],
  all: ['all'],
  any: ['any'],
  not: ['not'],
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

interface Walk {
  errors: FieldError[];
  nodes: number;
}

const bounds = (
  value: { atLeast?: number; atMost?: number },
  path: readonly PropertyKey[],
  walk: Walk,
): void => {
  if (value.atLeast === undefined && value.atMost === undefined)
    walk.errors.push({ path: dottedPath([...path, 'atLeast']), message: 'Give atLeast, atMost or both' });
  else if (value.atLeast !== undefined && value.atMost !== undefined && value.atMost < value.atLeast)
    walk.errors.push({ path: dottedPath([...path, 'atMost']), message: 'atMost must not be below atLeast' });
};

const checkCondition = (
  input: unknown,
  path: readonly PropertyKey[],
  depth: number,
  walk: Walk,
): Condition | undefined => {
  const here = dottedPath(path);
  walk.nodes++;
  if (walk.nodes > MAX_CONDITIONS) {
    if (walk.nodes === MAX_CONDITIONS + 1)
      walk.errors.push({ path: here, message: `A rule has at most ${MAX_CONDITIONS} conditions` });
    return undefined;
  }
  if (!isRecord(input)) {
    walk.errors.push({ path: here, message: 'Expected a condition (an object)' });
    return undefined;
  }
  const kinds = ALL_KINDS.filter((k) => k in input);
  if (kinds.length === 0) {
    walk.errors.push({ path: here, message: `Expected a condition: one of ${ALL_KINDS.join(', ')}` });
    return undefined;
  }
  if (kinds.length > 1) {
    walk.errors.push({
      path: here,
      message: `One condition per object, not ${kinds.join(' and ')}: combine conditions with "all" or "any"`,
    });
    return undefined;
  }
  const kind = kinds[0] as LeafKind | (typeof COMBINATORS)[number];
  const unknown = Object.keys(input).filter((k) => !FIELDS[kind].includes(k));
  for (const k of unknown)
    walk.errors.push({
      path: dottedPath([...path, k]),
      message: `Unknown field for a "${kind}" condition (expected ${FIELDS[kind].join(', ')})`,
    });
  if (unknown.length > 0) return undefined;

  if (kind === 'all' || kind === 'any') {
    const list = input[kind];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CHILDREN) {
      walk.errors.push({
        path: dottedPath([...path, kind]),
        message: `Expected a list of 1..${MAX_CHILDREN} conditions`,
      });
      return undefined;
    }
    if (depth >= MAX_DEPTH) {
      walk.errors.push({
        path: dottedPath([...path, kind]),
        message: `Nested deeper than ${MAX_DEPTH} levels`,
      });
      return undefined;
    }
    const children = list.map((c, i) => checkCondition(c, [...path, kind, i], depth + 1, walk));
    if (!children.every((c) => c !== undefined)) return undefined;
    return kind === 'all' ? { all: children } : { any: children };
  }
  if (kind === 'not') {
    if (depth >= MAX_DEPTH) {
      walk.errors.push({
        path: dottedPath([...path, kind]),
        message: `Nested deeper than ${MAX_DEPTH} levels`,
      });
      return undefined;
    }
    const child = checkCondition(input.not, [...path, 'not'], depth + 1, walk);
    return child === undefined ? undefined : { not: child };
  }

  const parsed = parseWith(KINDS[kind] as z.ZodMiniType<Condition>, input, path);
  if (!parsed.ok) {
    walk.errors.push(...parsed.errors);
    return undefined;
  }
  const value = parsed.value;
  const before = walk.errors.length;
  if ('type' in value) bounds(value, path, walk);
  if ('conversionValue' in value) bounds(value.conversionValue, [...path, 'conversionValue'], walk);
  if ('model' in value) walk.errors.push(...modelConditionErrors(value, path));
  if ('trait' in value) walk.errors.push(...traitOperatorErrors(value, path));
  return walk.errors.length === before ? value : undefined;
};

/** A condition, or the errors that name each problem's path (prefixed by `path`). */
export const parseCondition = (
  input: unknown,
  path: readonly PropertyKey[] = [],
): { ok: true; value: Condition } | { ok: false; errors: FieldError[] } => {
  const walk: Walk = { errors: [], nodes: 0 };
  const value = checkCondition(input, path, 0, walk);
  return value !== undefined && walk.errors.length === 0
    ? { ok: true, value }
    : { ok: false, errors: walk.errors };
};

/**
 * The rule body as one zod schema, built from the same per-kind schemas, for the OpenAPI
 * document. Requests go through `parseRuleBody`, whose errors name paths inside the rule
 * (a union's errors would not).
 */
export const conditionSchema: z.ZodMiniType<Condition> = z.union([
  ...(Object.values(KINDS) as z.ZodMiniType<Condition>[]),
  z.object({
    get all() {
      return z.array(conditionSchema);
    },
  }),
  z.object({
    get any() {
      return z.array(conditionSchema);
    },
  }),
  z.object({
    get not() {
      return conditionSchema;
    },
  }),
]) as z.ZodMiniType<Condition>;

export const ruleBodySchema = z.strictObject({
  tag: z.string().check(z.regex(TAG_PATTERN, TAG_MESSAGE)),
  when: conditionSchema,
  description: z.optional(z.string().check(z.maxLength(500))),
});

const ruleShape = z.object({
  tag: z.string().check(z.regex(TAG_PATTERN, TAG_MESSAGE)),
  description: z.optional(z.string().check(z.maxLength(500))),
});
const RULE_FIELDS = ['tag', 'when', 'description'];

/** `PUT /api/segments/rules/{ruleId}`'s body; a 400 naming every problem's path otherwise. */
export const parseRuleBody = (body: unknown): RuleBody => {
  if (!isRecord(body))
    throw new Problem(400, 'validation_failed', 'Invalid rule', [
      { path: '', message: 'Expected an object' },
    ]);
  const errors: FieldError[] = Object.keys(body)
    .filter((k) => !RULE_FIELDS.includes(k))
    .map((k) => ({ path: k, message: `Unknown field (expected ${RULE_FIELDS.join(', ')})` }));
  const head = parseWith(ruleShape, body);
  if (!head.ok) errors.push(...head.errors);
  let when: Condition | undefined;
  if (body.when === undefined) errors.push({ path: 'when', message: 'Required' });
  else {
    const parsed = parseCondition(body.when, ['when']);
    if (parsed.ok) when = parsed.value;
    else errors.push(...parsed.errors);
  }
  if (errors.length > 0 || !head.ok || !when)
    throw new Problem(400, 'validation_failed', 'Invalid rule', errors);
  return {
    tag: head.value.tag,
    when,
    ...(head.value.description !== undefined && { description: head.value.description }),
  };
};

export const ruleIdSchema = z
  .string()
  .check(z.regex(RULE_ID_PATTERN, 'Expected 1..64 characters of A-Z, a-z, 0-9, _ and -'));

/** Identifies what a rule decides (tag and condition): a change means a new backfill. */
export const ruleHash = (rule: RuleBody): string =>
  createHash('sha256')
    .update(stableStringify({ tag: rule.tag, when: rule.when }))
    .digest('base64url')
    .slice(0, 22);

// ---------------------------------------------------------------------------------------------
// Evaluation

/** A boolean step function of time from `now` on: its value now and the times it flips. */
export interface Timeline {
  value: boolean;
  /** Ascending epoch ms, each after `now`. */
  flips: number[];
}

const constant = (value: boolean): Timeline => ({ value, flips: [] });

const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);
const dayKeyNumber = (key: string): number => {
  const ms = Date.parse(`${key}T00:00:00.000Z`);
  return Number.isNaN(ms) ? Number.NaN : dayNumber(ms);
};

const within = (p: { atLeast?: number; atMost?: number }) => (n: number) =>
  (p.atLeast === undefined || n >= p.atLeast) && (p.atMost === undefined || n <= p.atMost);

/** A last-seen time inside a window of `n` days: true until 00:00 UTC of its day + n. */
const recency = (iso: string | undefined, n: number, now: number): Timeline => {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(ms)) return constant(false);
  const leaves = (dayNumber(ms) + n) * DAY_MS;
  return leaves > now ? { value: true, flips: [leaves] } : constant(false);
};

/** Events counted in a window: the count only falls as days leave it, at 00:00 UTC of day + n. */
const windowCount = (
  stats: PersonStats,
  type: CountType,
  n: number,
  holds: (count: number) => boolean,
  now: number,
): Timeline => {
  const first = dayNumber(now) - (n - 1);
  const perDay: [number, number][] = [];
  let total = 0;
  for (const [key, counts] of Object.entries(stats.days)) {
    const day = dayKeyNumber(key);
    if (!(day >= first)) continue;
    const c = type === 'any' ? Object.values(counts).reduce((a, b) => a + b, 0) : (counts[type] ?? 0);
    if (c > 0) {
      perDay.push([day, c]);
      total += c;
    }
  }
  perDay.sort((a, b) => a[0] - b[0]);
  const value = holds(total);
  const flips: number[] = [];
  let current = value;
  let remaining = total;
  for (const [day, c] of perDay) {
    remaining -= c;
    const next = holds(remaining);
    if (next !== current) flips.push((day + n) * DAY_MS);
    current = next;
  }
  return { value, flips };
};

const combine = (children: Timeline[], op: (values: boolean[]) => boolean): Timeline => {
  const values = children.map((c) => c.value);
  const value = op(values);
  const times = [...new Set(children.flatMap((c) => c.flips))].sort((a, b) => a - b);
  const next = children.map(() => 0);
  const flips: number[] = [];
  let current = value;
  for (const t of times) {
    children.forEach((c, i) => {
      if (c.flips[next[i] as number] === t) {
        values[i] = !values[i];
        next[i] = (next[i] as number) + 1;
      }
    });
    const v = op(values);
    if (v !== current) flips.push(t);
    current = v;
  }
  return { value, flips };
};

/** The outcome of a condition from `now` on, as a step function of time. */
export const timeline = (condition: Condition, stats: PersonStats, now: number): Timeline => {
  if ('all' in condition)
    return combine(
      condition.all.map((c) => timeline(c, stats, now)),
      (v) => v.every(Boolean),
    );
  if ('any' in condition)
    return combine(
      condition.any.map((c) => timeline(c, stats, now)),
      (v) => v.some(Boolean),
    );
  if ('not' in condition) {
    const inner = timeline(condition.not, stats, now);
    return { value: !inner.value, flips: inner.flips };
  }
  if ('type' in condition) {
    const holds = within(condition);
    if (condition.withinDays !== undefined)
      return windowCount(stats, condition.type, condition.withinDays, holds, now);
    const lifetime =
      condition.type === 'any'
        ? Object.values(stats.counts).reduce((a, b) => a + b, 0)
        : (stats.counts[condition.type] ?? 0);
    return constant(holds(lifetime));
  }
  if ('campaign' in condition) {
    const last = Object.hasOwn(stats.campaigns, condition.campaign)
      ? stats.campaigns[condition.campaign]
      : undefined;
    if (condition.withinDays === undefined) return constant(last !== undefined);
    return recency(last, condition.withinDays, now);
  }
  if ('channel' in condition) return constant(stats.channels.includes(condition.channel));
  if ('conversionValue' in condition) {
    const { currency } = condition.conversionValue;
    const value = Object.hasOwn(stats.conversions.value, currency) ? stats.conversions.value[currency] : 0;
    return constant(within(condition.conversionValue)(value ?? 0));
  }
  if ('lastSeenWithinDays' in condition) return recency(stats.lastSeen, condition.lastSeenWithinDays, now);
  if ('model' in condition) return constant(modelConditionHolds(condition, stats));
  if ('trait' in condition) return traitTimeline(condition, stats, now);
  const active = recency(stats.lastSeen, condition.inactiveForDays, now);
  return { value: !active.value, flips: active.flips };
};

/** Does the rule hold for these stats at `now`, and when does that next change with no new event? */
export const evaluateRule = (
  rule: Pick<RuleBody, 'when'>,
  stats: PersonStats,
  now: Date,
): { holds: boolean; nextCheck?: string } => {
  const t = timeline(rule.when, stats, now.getTime());
  const next = t.flips[0];
  return next === undefined
    ? { holds: t.value }
    : { holds: t.value, nextCheck: new Date(next).toISOString() };
};

/** Every rule's outcome for one person: what the consumer, the sweep and the backfill apply. */
export const evaluateRules = (rules: readonly SegmentRule[], stats: PersonStats, now: Date): RuleOutcome[] =>
  rules.map((rule) => ({ rule: { ruleId: rule.ruleId, tag: rule.tag }, ...evaluateRule(rule, stats, now) }));
