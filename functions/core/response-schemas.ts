/**
 * Schemas of Pulse's answers, shared by the operation contracts (`functions/<domain>/*.contract.ts`)
 * that the OpenAPI document is built from: the problem body, ingest answers, pages, reports.
 * Pure: imports no AWS SDK, so the OpenAPI function stays small.
 */ import * as z from 'zod/mini';
import { campaignBreakdownsSchema, seriesBreakdownsSchema } from './aggregates';
import { PURPOSES } from './consent';
import { CHANNELS } from './events';
import { PROBLEM_TITLES, type ProblemCode } from './problem';
import { SOURCE_KINDS } from './sources';
import './zod';

/** An answer of an operation: what it means, and its body's schema. */
export interface ResponseDoc {
  description: string;
  schema?: z.ZodMiniType;
}

const fieldError = z.object({ path: z.string(), message: z.string() });

/** The error body (RFC 9457 problem details with a stable `code` and field paths). */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  code: z.enum(Object.keys(PROBLEM_TITLES) as [ProblemCode, ...ProblemCode[]]),
  detail: z.optional(z.string()),
  errors: z.optional(z.array(fieldError)),
});

export const rejection = z.object({
  index: z.int(),
  eventId: z.optional(z.string()),
  code: z.string(),
  errors: z.array(fieldError),
});
export const acceptedSchema = z.object({ accepted: z.int(), eventIds: z.array(z.string()) });
export const partialSchema = z.object({
  accepted: z.int(),
  eventIds: z.array(z.string()),
  rejected: z.array(rejection),
});

export const segmentAnswer = z.object({
  success: z.literal(true),
  /** Present when some messages of a batch were rejected. */
  accepted: z.optional(z.int()),
  rejected: z.optional(
    z.array(
      z.object({
        index: z.int(),
        messageId: z.optional(z.string()),
        code: z.string(),
        errors: z.array(fieldError),
      }),
    ),
  ),
});
export const segmentSettingsSchema = z.looseObject({
  integrations: z.object({
    'Segment.io': z.looseObject({ apiKey: z.string(), apiHost: z.string() }),
  }),
  plan: z.record(z.string(), z.unknown()),
  edgeFunction: z.record(z.string(), z.unknown()),
  metrics: z.looseObject({ sampleRate: z.number() }),
});

export const sourceSchema = z.looseObject({
  sourceId: z.string(),
  name: z.string(),
  channel: z.enum(CHANNELS),
  kind: z.enum(SOURCE_KINDS),
  rateLimit: z.int(),
  createdAt: z.string(),
  revokedAt: z.optional(z.string()),
});
export const page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.optional(z.string()) });

export const counts = z.record(z.string(), z.int());
/** What `uniqueUsers` counts, said where clients read the schema. */
const uniqueUsersSchema = z.int();
z.globalRegistry.add(uniqueUsersSchema, {
  description:
    'Distinct person keys as aggregated: an anonymous id before its identify and the user it was then linked to count as two',
});

/** When `uniqueUsers` is an estimate (docs/scale.md). */
const uniqueUsersEstimatedSchema = z.optional(z.boolean());
z.globalRegistry.add(uniqueUsersEstimatedSchema, {
  description:
    'Present (true) when uniqueUsers is not exact: a HyperLogLog estimate (about 1.15 % standard error) because some quarter-hour, or some day read from its rollup, had more than 1,000 distinct persons; or, for a series bucket in a zone whose days cut UTC days, the persons of the whole UTC day its rollup holds',
});

// console (issue 18): rates in campaign reports
const rate = (description: string) => {
  const schema = z.nullable(z.number());
  z.globalRegistry.add(schema, { description: `${description}; null when the denominator is 0` });
  return schema;
};
const ratesSchema = z.object({
  clickThrough: rate('Clicks per view'),
  conversion: rate('Conversions per click'),
  conversionsPerPerson: rate('Conversion events per distinct person (`uniqueUsers`)'),
});

export const campaignReport = z.extend(campaignBreakdownsSchema, {
  campaignId: z.string(),
  from: z.string(),
  to: z.string(),
  granularity: z.enum(['hour', 'day']),
  tz: z.string(),
  uniqueUsers: uniqueUsersSchema,
  uniqueUsersEstimated: uniqueUsersEstimatedSchema,
  rates: ratesSchema,
  series: z.array(
    z.extend(seriesBreakdownsSchema, {
      start: z.string(),
      uniqueUsers: uniqueUsersSchema,
      uniqueUsersEstimated: z.optional(z.boolean()),
    }),
  ),
});
export const consentAnswer = z.looseObject({
  subject: z.string(),
  consentToken: z.string(),
  expiresAt: z.string(),
  purposes: z.record(z.enum(PURPOSES), z.boolean()),
});

/** A `200` answer. */
export const ok = (description: string, schema?: z.ZodMiniType): Record<number, ResponseDoc> => ({
  200: { description, ...(schema && { schema }) },
});
