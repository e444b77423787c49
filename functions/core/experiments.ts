/**
 * Experiments: the definition an admin PUTs, its validation, the rules for changing one, the
 * promotion endpoint's query, and the exposure event serving puts on the stream. Pure.
 *
 * Change rules (409):
 * - Once an experiment has started (it is running, or ran before and was stopped), its
 *   variants (ids, order, weights, content), goal and placement are frozen: changing them
 *   mid-test mixes two experiments in one set of results and biases them (GrowthBook refuses
 *   it for the same reason). Coverage and targeting may change: the arm hash does not depend
 *   on coverage, and stored assignments are kept.
 * - An experiment that has started cannot go back to draft (stop it instead).
 * - At most one running experiment per placement: experiments on a placement are mutually
 *   exclusive, so a person sees at most one test there.
 * Stopping and restarting keep assignments (they live with the person, not the status).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { readConsentToken } from './consent';
import {
  type CanonicalEvent,
  CHANNELS,
  type Channel,
  DEVICE_TYPES,
  type DeviceType,
  doorEvent,
  EVENT_TYPES,
  personIdSchema,
} from './events';
import {
  ALL_PLACEMENTS,
  type Allocation,
  analysisSchema,
  banditSchema,
  designIssues,
  EXPERIMENT_MODES,
  metricsOf,
  metricsSchema,
  modeOf,
} from './experiment-design';
import { jsonHazard, stableStringify } from './json';
import { Problem } from './problem';
import { tagSchema } from './tags';
import { traitTargetSchema } from './trait-conditions';
import './zod';

export const EXPERIMENT_STATUSES = ['draft', 'running', 'stopped'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export const EXPERIMENT_LIMITS = {
  variants: 10,
  /** Serialised content of one variant: every definition is cached by the promotion function. */
  contentBytes: 16 * 1024,
  contentDepth: 8,
  contentKeys: 200,
  contentString: 8 * 1024,
  targetingEntries: 50,
  /** Request body of a PUT. */
  bodyBytes: 256 * 1024,
} as const;

/** Ids end up inside keys (`exp#<id>`, `x#<id>#<shard>`): no `#`, no spaces. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const experimentIdSchema = z
  .string()
  .check(z.regex(ID_PATTERN, 'Expected 1..64 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)'));
export const placementSchema = experimentIdSchema;
export const variantIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'Expected 1..64 of A-Z a-z 0-9 _ . -'));
/** Tags: one grammar, from the tags module. */
export { tagSchema };

const contentSchema = z.record(z.string(), z.unknown()).check(
  z.superRefine((value, ctx) => {
    const hazard = jsonHazard(value, {
      maxDepth: EXPERIMENT_LIMITS.contentDepth,
      maxKeys: EXPERIMENT_LIMITS.contentKeys,
      maxStringLength: EXPERIMENT_LIMITS.contentString,
    });
    if (hazard) {
      ctx.issues.push({ code: 'custom', message: hazard.message, input: value, path: hazard.path });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value)) > EXPERIMENT_LIMITS.contentBytes)
      ctx.issues.push({
        code: 'custom',
        message: `Content exceeds ${EXPERIMENT_LIMITS.contentBytes} bytes of JSON`,
        input: value,
      });
  }),
);

const variantSchema = z.strictObject({
  id: variantIdSchema,
  weight: z
    .number()
    .check(z.gte(0, 'Expected a weight ≥ 0'), z.lte(1_000_000, 'Expected a weight ≤ 1000000')),
  content: contentSchema,
});

const list = <T extends z.ZodMiniType>(item: T) =>
  z.optional(z.array(item).check(z.maxLength(EXPERIMENT_LIMITS.targetingEntries, 'At most 50 entries')));

export const targetingSchema = z.strictObject({
  tagsAny: list(tagSchema),
  tagsAll: list(tagSchema),
  channels: list(z.enum(CHANNELS)),
  // experiments v2: exclusions, segments and devices
  tagsNone: list(tagSchema),
  segments: list(tagSchema),
  deviceTypes: list(z.enum(DEVICE_TYPES)),
  /** Declared traits the person must match, all of them (docs/traits.md). */
  traits: list(traitTargetSchema),
});

const goalSchema = z
  .strictObject({
    type: z.enum(EVENT_TYPES),
    /** For `custom` goals: the custom event's name; absent, any custom event is the goal. */
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  })
  .check(
    z.superRefine((goal, ctx) => {
      if (goal.name !== undefined && goal.type !== 'custom')
        ctx.issues.push({
          code: 'custom',
          message: 'name applies to custom goals only',
          path: ['name'],
          input: goal.name,
        });
    }),
  );

export const experimentBodySchema = z
  .strictObject({
    placement: z.union([placementSchema, z.literal(ALL_PLACEMENTS)]),
    status: z.enum(EXPERIMENT_STATUSES),
    variants: z
      .array(variantSchema)
      .check(
        z.minLength(2, 'At least two variants: the first is the control'),
        z.maxLength(EXPERIMENT_LIMITS.variants, `At most ${EXPERIMENT_LIMITS.variants} variants`),
      ),
    targeting: z._default(targetingSchema, {}),
    coverage: z._default(
      z
        .number()
        .check(z.gte(0, 'Expected a fraction from 0 to 1'), z.lte(1, 'Expected a fraction from 0 to 1')),
      1,
    ),
    goal: goalSchema,
    description: z.optional(z.string().check(z.maxLength(1024))),
    // experiments v2: metrics, analysis, bandits and holdouts (functions/core/experiment-design.ts)
    metrics: z.optional(metricsSchema),
    analysis: z.optional(analysisSchema),
    mode: z.optional(z.enum(EXPERIMENT_MODES)),
    bandit: z.optional(banditSchema),
  })
  .check(
    z.superRefine((body, ctx) => {
      for (const [path, message] of designIssues(body))
        ctx.issues.push({ code: 'custom', message, path, input: body });
      const seen = new Map<string, number>();
      body.variants.forEach((v, i) => {
        const first = seen.get(v.id);
        if (first !== undefined)
          ctx.issues.push({
            code: 'custom',
            message: `Duplicate variant id "${v.id}" (also variants.${first}.id)`,
            path: ['variants', i, 'id'],
            input: v.id,
          });
        else seen.set(v.id, i);
      });
      const total = body.variants.reduce((s, v) => s + v.weight, 0);
      if (body.variants.length > 0 && !(total > 0))
        ctx.issues.push({
          code: 'custom',
          message: 'The weights must sum to a positive number: give at least one variant a weight > 0',
          path: ['variants'],
          input: body.variants,
        });
    }),
  );

export type ExperimentBody = z.infer<typeof experimentBodySchema>;
export type Variant = ExperimentBody['variants'][number];
export type Goal = ExperimentBody['goal'];

/** A definition as stored: the body plus identity, optimistic-lock version and life-cycle times. */
export interface StoredExperiment extends ExperimentBody {
  experimentId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** First time it was set running; never cleared. */
  startedAt?: string;
  /** Last time it was stopped. */
  stoppedAt?: string;
  /** Bandits: the weights the schedule set last (the variants' own weights are the start). */
  allocation?: Allocation;
}

const conflict = (detail: string, path?: string) =>
  new Problem(409, 'conflict', detail, path === undefined ? undefined : [{ path, message: detail }]);

/** Fields frozen once an experiment has started, each compared by its canonical JSON. */
const FROZEN = ['variants', 'goal', 'placement'] as const;
/** Frozen too, compared by their effective values (definitions stored before they existed have none). */
const FROZEN_DESIGN = { metrics: metricsOf, mode: modeOf } as const;

/**
 * The definition to store for a PUT, or a 409 Problem. `runningOnPlacement` are the OTHER
 * experiments currently running on the body's placement.
 */
export const applyUpdate = (
  experimentId: string,
  current: StoredExperiment | undefined,
  body: ExperimentBody,
  runningOnPlacement: readonly (Pick<StoredExperiment, 'experimentId'> & {
    mode?: StoredExperiment['mode'];
  })[],
  now: Date,
): StoredExperiment => {
  const nowIso = now.toISOString();
  if (current?.startedAt) {
    for (const field of FROZEN)
      if (stableStringify(current[field]) !== stableStringify(body[field]))
        throw conflict(
          field === 'variants'
            ? `Experiment ${experimentId} has started: its variants, weights and content are frozen, ` +
                'since changing them would bias the results. Stop it and create a new experiment instead.'
            : `Experiment ${experimentId} has started: its ${field} is frozen. Create a new experiment instead.`,
          field,
        );
    for (const [field, effective] of Object.entries(FROZEN_DESIGN))
      if (stableStringify(effective(current)) !== stableStringify(effective(body)))
        throw conflict(
          `Experiment ${experimentId} has started: its ${field} are frozen, since changing them would bias the results. Create a new experiment instead.`,
          field,
        );
    if (body.status === 'draft')
      throw conflict(
        `Experiment ${experimentId} has started and cannot go back to draft: stop it instead`,
        'status',
      );
  }
  // Holdouts sit beside the experiments of their placement, not in their place.
  const others =
    modeOf(body) === 'holdout'
      ? []
      : runningOnPlacement.filter((e) => e.experimentId !== experimentId && modeOf(e) !== 'holdout');
  if (body.status === 'running' && others.length > 0)
    throw conflict(
      `Experiment ${others.map((e) => e.experimentId).join(', ')} is already running on placement ` +
        `"${body.placement}": experiments on a placement are mutually exclusive. Stop it first.`,
      'status',
    );

  const next: StoredExperiment = {
    ...body,
    experimentId,
    version: (current?.version ?? 0) + 1,
    createdAt: current?.createdAt ?? nowIso,
    updatedAt: nowIso,
  };
  const startedAt = current?.startedAt ?? (body.status === 'running' ? nowIso : undefined);
  if (startedAt) next.startedAt = startedAt;
  if (current?.allocation && body.mode === 'bandit') next.allocation = current.allocation;
  const stoppedAt = body.status === 'stopped' && current?.status !== 'stopped' ? nowIso : current?.stoppedAt;
  if (stoppedAt) next.stoppedAt = stoppedAt;
  return next;
};

/**
 * The running experiment on a placement. Validation keeps it to one; should two ever run (two
 * admins racing), the one that started first wins, the same everywhere, so a person still sees
 * one test per placement.
 */
export const runningAt = (
  experiments: readonly StoredExperiment[],
  placement: string,
): StoredExperiment | undefined => {
  let best: StoredExperiment | undefined;
  for (const e of experiments) {
    if (e.status !== 'running' || e.placement !== placement || modeOf(e) === 'holdout') continue;
    const key = `${e.startedAt ?? ''}\u0000${e.experimentId}`;
    if (!best || key < `${best.startedAt ?? ''}\u0000${best.experimentId}`) best = e;
  }
  return best;
};

// ---- promotion ---------------------------------------------------------------------------

const personId = z.optional(personIdSchema);

/** `GET /api/promotion` query. Unknown parameters (cache busters) are ignored. */
export const promotionQuerySchema = z
  .object({
    userId: personId,
    anonymousId: personId,
    placement: placementSchema,
    channel: z.optional(z.enum(CHANNELS)),
    deviceType: z.optional(z.enum(DEVICE_TYPES)),
    /** QA: force this variant (never stored, never counted). */
    variant: z.optional(variantIdSchema),
  })
  .check(
    z.refine((q) => q.userId !== undefined || q.anonymousId !== undefined, {
      message: 'userId or anonymousId is required',
      path: ['userId'],
    }),
  );
export type PromotionQuery = z.infer<typeof promotionQuerySchema>;

/**
 * The exposure's event id: the same for every serving of one experiment to one person, so the
 * consumer's per-person dedup counts the first exposure only, however often content is served.
 */
export const exposureEventId = (experimentId: string, personKey: string): string =>
  `x-${createHash('sha256').update(experimentId).update('\u0000').update(personKey).digest('base64url').slice(0, 32)}`;

export interface ExposureInput {
  experimentId: string;
  variant: string;
  placement: string;
  /** The experiment's goal: frozen once started, so the exposure can carry it to the consumer. */
  goal?: Goal | undefined;
  personKey: string;
  userId?: string | undefined;
  anonymousId?: string | undefined;
  channel?: Channel | undefined;
  deviceType?: DeviceType | undefined;
  sourceId: string;
  now: Date;
}

/** The exposure event serving puts on the stream (door `promotion`). */
export const exposureEvent = (x: ExposureInput): CanonicalEvent =>
  doorEvent(
    {
      eventId: exposureEventId(x.experimentId, x.personKey),
      type: 'exposure',
      personKey: x.personKey,
      userId: x.userId,
      anonymousId: x.anonymousId,
      experimentId: x.experimentId,
      variant: x.variant,
      channel: x.channel,
      deviceType: x.deviceType ?? 'other',
      data: { placement: x.placement, ...(x.goal && { goal: x.goal }) },
      properties: {},
      sourceId: x.sourceId,
      door: 'promotion',
    },
    x.now,
  );

/** Does an event of this type (and custom name) reach the experiment's goal? */
export const meetsGoal = (
  goal: { type: string; name?: string },
  event: { type: string; data?: Record<string, unknown> },
): boolean => event.type === goal.type && (goal.name === undefined || event.data?.name === goal.name);

// ---- consent at the promotion door -------------------------------------------------------

export interface PromotionConsent {
  /** Personalised serving (and storing an assignment) is allowed. */
  personalization: boolean;
  /** The exposure may be logged for the results. */
  analytics: boolean;
}

/**
 * What a consent token allows at the promotion door. A missing, forged or expired token, or
 * one for a subject that is neither the userId nor the anonymousId, allows nothing: the
 * person gets the control content, unpersonalised, and no exposure is logged.
 */
export const promotionConsent = (
  key: Uint8Array,
  token: string | undefined,
  ids: { userId?: string | undefined; anonymousId?: string | undefined },
  now: Date,
): PromotionConsent => {
  const none = { personalization: false, analytics: false };
  if (!token) return none;
  const claims = readConsentToken(key, token);
  if (!claims) return none;
  if (claims.sub !== ids.userId && claims.sub !== ids.anonymousId) return none;
  if (claims.exp * 1000 <= now.getTime()) return none;
  return {
    personalization: claims.pur.includes('personalization'),
    analytics: claims.pur.includes('analytics'),
  };
};
