/**
 * What the OpenAPI document says of each route's requests and answers: route id → the zod
 * schemas, imported from the modules where they validate (so the document cannot drift from the
 * code). A route without an entry still appears, with generic JSON. When you add a handler with
 * schemas, add its line here. Pure: imports no AWS SDK, so the OpenAPI function stays small.
 */
import * as z from 'zod/mini';
import type { RouteId } from '../../lib/routes';
import { consentBodySchema, PURPOSES } from './consent';
import { batchEventSchema, CHANNELS, EVENT_TYPES, eventSchemas, LIMITS } from './events';
import { experimentBodySchema, promotionQuerySchema } from './experiments';
import { identifySchema } from './identity';
import { linkBodySchema } from './links';
import { metricsQuerySchema } from './metrics-report';
import { PROBLEM_TITLES, type ProblemCode } from './problem';
import { pageQuerySchema } from './query';
import { ruleBodySchema } from './rules';
import { SEGMENT_CALLS, segmentBatchSchema, segmentMessageSchemas } from './segment';
import { newSourceSchema, SOURCE_KINDS } from './sources';
import { tagSchema, tagsBodySchema } from './tags';
import './zod';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodMiniType;
}

export interface RouteSchemas {
  /** JSON request body. */
  body?: z.ZodMiniType;
  /** Query-string parameters: an object schema, one parameter per property. */
  query?: z.ZodMiniObject;
  /** Path parameters narrower than a non-empty string. */
  params?: Record<string, z.ZodMiniType>;
  /** Success answers by status; without them, `200` with any JSON. */
  responses?: Record<number, ResponseDoc>;
}

const fieldError = z.object({ path: z.string(), message: z.string() });

/** API.md's error body (RFC 9457 problem details with a stable `code` and field paths). */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  code: z.enum(Object.keys(PROBLEM_TITLES) as [ProblemCode, ...ProblemCode[]]),
  detail: z.optional(z.string()),
  errors: z.optional(z.array(fieldError)),
});

const rejection = z.object({
  index: z.int(),
  eventId: z.optional(z.string()),
  code: z.string(),
  errors: z.array(fieldError),
});
const acceptedSchema = z.object({ accepted: z.int(), eventIds: z.array(z.string()) });
const partialSchema = z.object({
  accepted: z.int(),
  eventIds: z.array(z.string()),
  rejected: z.array(rejection),
});

const segmentAnswer = z.object({
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
const segmentSettingsSchema = z.looseObject({
  integrations: z.object({
    'Segment.io': z.looseObject({ apiKey: z.string(), apiHost: z.string() }),
  }),
  plan: z.record(z.string(), z.unknown()),
  edgeFunction: z.record(z.string(), z.unknown()),
  metrics: z.looseObject({ sampleRate: z.number() }),
});

const sourceSchema = z.looseObject({
  sourceId: z.string(),
  name: z.string(),
  channel: z.enum(CHANNELS),
  kind: z.enum(SOURCE_KINDS),
  rateLimit: z.int(),
  createdAt: z.string(),
  revokedAt: z.optional(z.string()),
});
const page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.optional(z.string()) });

const counts = z.record(z.string(), z.int());
const campaignReport = z.looseObject({
  campaignId: z.string(),
  totals: counts,
  uniqueUsers: z.int(),
  uniqueUsersEstimated: z.optional(z.boolean()),
  byDeviceType: counts,
  byChannel: counts,
  series: z.array(z.object({ start: z.string(), counts })),
});
const consentAnswer = z.looseObject({
  subject: z.string(),
  consentToken: z.string(),
  expiresAt: z.string(),
  purposes: z.record(z.enum(PURPOSES), z.boolean()),
});

const healthReport = z.looseObject({
  status: z.enum(['ok', 'degraded']),
  checkedAt: z.string(),
  components: z.record(z.string(), z.enum(['ok', 'unavailable'])),
});

const ok = (description: string, schema?: z.ZodMiniType): Record<number, ResponseDoc> => ({
  200: { description, ...(schema && { schema }) },
});

const segmentRoutes = Object.fromEntries(
  Object.entries(SEGMENT_CALLS).map(([call, type]) => [
    `segment_${call}`,
    {
      body: type === 'batch' ? segmentBatchSchema : segmentMessageSchemas[type],
      responses: ok(
        type === 'batch'
          ? 'Every valid message is in the stream; rejected ones are listed by index (and quarantined)'
          : 'The message is in the stream',
        segmentAnswer,
      ),
    } satisfies RouteSchemas,
  ]),
);

export const apiSchemas: { readonly [K in RouteId]?: RouteSchemas } = {
  health: { responses: ok('The API answers', z.looseObject({ status: z.literal('ok') })) },
  healthDeep: {
    responses: {
      ...ok('The stream and every table answer', healthReport),
      503: { description: 'Some component does not answer: named in `components`', schema: healthReport },
    },
  },
  trackOne: {
    params: { type: z.enum(EVENT_TYPES) },
    body: z.union(EVENT_TYPES.map((t) => eventSchemas[t]) as unknown as [z.ZodMiniType, ...z.ZodMiniType[]]),
    responses: { 202: { description: 'The event is in the stream', schema: acceptedSchema } },
  },
  trackBatch: {
    body: z.object({
      events: z.array(batchEventSchema).check(z.minLength(1), z.maxLength(LIMITS.batchEvents)),
    }),
    responses: {
      202: { description: 'Every event is in the stream', schema: acceptedSchema },
      207: {
        description: 'The valid events are in the stream; the others are rejected by index',
        schema: partialSchema,
      },
    },
  },
  createSource: {
    body: newSourceSchema,
    responses: {
      201: {
        description: 'The source, with its write key (shown this once)',
        schema: z.extend(sourceSchema, { writeKey: z.string() }),
      },
    },
  },
  listSources: { query: pageQuerySchema, responses: ok('Sources, never their keys', page(sourceSchema)) },
  deleteSource: { responses: ok('The revoked source', sourceSchema) },
  listCampaignMetrics: {
    query: pageQuerySchema,
    responses: ok(
      'Campaigns with totals by type',
      page(z.looseObject({ campaignId: z.string(), totals: counts })),
    ),
  },
  campaignMetrics: { query: metricsQuerySchema, responses: ok('The campaign report', campaignReport) },
  putConsent: {
    body: consentBodySchema,
    responses: ok('Consent recorded; the token to send with events', consentAnswer),
  },
  ...segmentRoutes,
  segmentSettings: { responses: ok('Settings pointing the SDK at this Pulse', segmentSettingsSchema) },
  openapi: { responses: ok('This document') },
  identify: {
    body: identifySchema,
    responses: { 202: { description: 'The identify event is in the stream', schema: acceptedSchema } },
  },
  putTags: { body: tagsBodySchema, responses: ok("The user's tags, with their sources") },
  addTags: { body: tagsBodySchema, responses: ok("The user's tags, with their sources") },
  deleteTag: { params: { tag: tagSchema }, responses: ok("The user's tags, with their sources") },
  putRule: { body: ruleBodySchema, responses: ok('The rule; a backfill applies it to existing users') },
  listRules: { query: pageQuerySchema, responses: ok('Segment rules') },
  listSegments: { query: pageQuerySchema, responses: ok('Tags with their exact sizes') },
  segmentUsers: {
    params: { tag: tagSchema },
    query: pageQuerySchema,
    responses: ok('Members of the segment'),
  },
  createLink: { body: linkBodySchema, responses: { 201: { description: 'The signed link' } } },
  followLink: {
    responses: { 302: { description: 'To the signed URL; a click is recorded with stored consent' } },
  },
  putExperiment: { body: experimentBodySchema, responses: ok('The experiment as stored') },
  promotion: {
    query: promotionQuerySchema,
    responses: {
      200: { description: 'The content for this person at this placement' },
      204: { description: 'No running experiment targets this person at this placement' },
    },
  },
};
