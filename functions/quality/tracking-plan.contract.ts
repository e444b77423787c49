/** What `quality/tracking-plan` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { PLAN_MODES } from '../core/edge/tracking-plan';
import { idText, isoTimeSchema } from '../core/events';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

/** A custom event's name, as `custom` events carry it (`name`, or a Segment track's `event`). */
const params = { name: idText(128) };

const DAY = /^\d{4}-\d\d-\d\d$/;
const day = z.string().check(z.regex(DAY, 'Expected a UTC date, e.g. 2026-06-01'));

const planEntrySchema = z.object({
  name: z.string(),
  mode: z.enum(PLAN_MODES),
  schema: z.record(z.string(), z.unknown()),
  updatedAt: isoTimeSchema,
});

export const trackingPlanBodySchema = z.object({
  mode: z.enum(PLAN_MODES),
  /** JSON Schema of the event's `properties`. */
  schema: z.record(z.string(), z.unknown()),
});

export const violationsQuerySchema = z.object({
  from: z.optional(day).register(z.globalRegistry, {
    description: 'First UTC day, inclusive (`2026-06-01`). Default: 6 days before `to`; at most 31 days',
  }),
  to: z.optional(day).register(z.globalRegistry, {
    description: 'Last UTC day, inclusive (`2026-06-07`). Default: today (UTC)',
  }),
});

const violationSchema = z.object({
  event: z.string(),
  mode: z.enum(PLAN_MODES),
  keyword: z.string(),
  schemaPath: z.string(),
  example: z.object({ path: z.string(), message: z.string() }),
  count: z.int(),
  lastSeen: z.string(),
});

export const contract = {
  putTrackingPlanEvent: {
    params,
    body: trackingPlanBodySchema,
    responses: {
      200: { description: 'The plan entry (replaced)', schema: planEntrySchema },
      201: { description: 'The plan entry (created)', schema: planEntrySchema },
    },
  },
  listTrackingPlan: { responses: ok('Every plan entry', z.object({ items: z.array(planEntrySchema) })) },
  deleteTrackingPlanEvent: { params, responses: ok('The removed plan entry', planEntrySchema) },
  trackingPlanViolations: {
    query: violationsQuerySchema,
    responses: ok(
      'Violations by event and schema path over the UTC days from..to (inclusive; default the last 7), most frequent first',
      z.object({ from: z.string(), to: z.string(), total: z.int(), items: z.array(violationSchema) }),
    ),
  },
} satisfies Contract<'quality/tracking-plan'>;
