/**
 * Destinations: where engagement flows out (a webhook, an EventBridge bus, Mixpanel, GA4, HubSpot,
 * Braze), what each one receives (its filter and the segments it follows as an audience) and the
 * consent purpose it needs. The body of `PUT /api/destinations/{destinationId}`. Pure.
 *
 * Credentials are part of the body (`credentials`) but never of the stored definition: the handler
 * moves them to Secrets Manager and answers only which credential fields are set.
 */
import * as z from 'zod/mini';
import { PURPOSES, type Purpose } from '../consent';
import { CHANNELS, EVENT_TYPES } from '../events';
import type { FieldError } from '../problem';
import { TAG_MESSAGE, TAG_PATTERN } from '../tags';
import { fieldErrors } from '../zod';
import { parseServiceAccount } from './google-oauth';

export const DESTINATION_TYPES = ['webhook', 'eventbridge', 'mixpanel', 'ga4', 'hubspot', 'braze'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];
/** The types Pulse can deliver to today: every declared type. */
export const DELIVERABLE_TYPES: readonly DestinationType[] = [
  'webhook',
  'eventbridge',
  'mixpanel',
  'ga4',
  'hubspot',
  'braze',
];

/** Kinds of message Pulse sends: the events it received and the ones it produces itself (triggers). */
export const MESSAGE_KINDS = ['event', 'segment.entered', 'segment.left', 'alert'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const destinationIdSchema = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'Expected 1..63 characters of a-z, 0-9, _ and -'));

const tag = z.string().check(z.regex(TAG_PATTERN, TAG_MESSAGE));
const id = z.string().check(z.minLength(1), z.maxLength(128));
const httpsUrl = z.string().check(
  z.maxLength(2048),
  z.refine((s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'Expected an http(s) URL'),
);

/** Every field optional: an absent field does not narrow. Within a field, any listed value matches. */
export const filterSchema = z.strictObject({
  kinds: z.optional(z.array(z.enum(MESSAGE_KINDS)).check(z.minLength(1), z.maxLength(4))),
  types: z.optional(z.array(z.enum([...EVENT_TYPES, 'identify', 'exposure'])).check(z.minLength(1))),
  campaigns: z.optional(z.array(id).check(z.minLength(1), z.maxLength(100))),
  channels: z.optional(z.array(z.enum(CHANNELS)).check(z.minLength(1))),
  /** Segments (tags) the person must carry for an event to go out. */
  segments: z.optional(z.array(tag).check(z.minLength(1), z.maxLength(20))),
});
export type DestinationFilter = z.infer<typeof filterSchema>;

/** Per-type settings (no secrets): where to send and how fast. */
const common = {
  /** Requests per second to the vendor, per delivery worker (each shard's consumer, the redrive). */
  rateLimitPerSecond: z.optional(z.number().check(z.gte(0.1), z.lte(1000))),
  /** Events per request, at most the vendor's limit (the default). */
  batchSize: z.optional(z.int().check(z.gte(1), z.lte(2000))),
};
export const settingsSchemas = {
  webhook: z.strictObject({ url: httpsUrl, ...common }),
  eventbridge: z.strictObject({
    /** A bus name (this account and region) or ARN; the stack's grant names which (docs/destinations.md). */
    eventBusName: z
      .string()
      .check(
        z.maxLength(1600),
        z.regex(
          /^(arn:aws[\w-]*:events:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/,
          'Expected an event bus name or ARN',
        ),
      ),
    /** The entries' Source (default `pulse`); `aws.` sources are AWS's own. */
    source: z.optional(
      z.string().check(
        z.minLength(1),
        z.maxLength(256),
        z.refine((s) => !s.startsWith('aws.'), 'Sources starting with aws. are reserved for AWS'),
      ),
    ),
    ...common,
  }),
  mixpanel: z.strictObject({
    projectId: z.string().check(z.regex(/^\d{1,20}$/, 'Expected the numeric Mixpanel project id')),
    /** API host: api.mixpanel.com, api-eu.mixpanel.com, api-in.mixpanel.com (or a test server). */
    baseUrl: z.optional(httpsUrl),
    /** For erasure forwarding: the project token the GDPR API names, and its host if not derived from baseUrl. */
    projectToken: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9]{1,64}$/, 'Expected the Mixpanel project token')),
    ),
    gdprBaseUrl: z.optional(httpsUrl),
    ...common,
  }),
  ga4: z.strictObject({
    measurementId: z.string().check(z.regex(/^G-[A-Z0-9]{4,20}$/, 'Expected a G-XXXXXXX measurement id')),
    baseUrl: z.optional(httpsUrl),
    /** For erasure forwarding (User Deletion API): the numeric GA4 property id. */
    propertyId: z.optional(z.string().check(z.regex(/^\d{1,20}$/, 'Expected the numeric GA4 property id'))),
    ...common,
  }),
  hubspot: z.strictObject({
    /** `events`: custom behavioural events; `properties`: contact property updates. */
    mode: z.enum(['events', 'properties']),
    /** The fully qualified name of the custom event definition (pe<portal>_<name>), for `events`. */
    eventName: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    baseUrl: z.optional(httpsUrl),
    ...common,
  }),
  braze: z.strictObject({
    /** The instance's REST endpoint (https://rest.iad-01.braze.com, …). */
    baseUrl: httpsUrl,
    ...common,
  }),
} as const;

/** Credential fields each type needs: kept in Secrets Manager, never echoed. */
export const credentialSchemas = {
  webhook: z.strictObject({
    /** `whsec_` + base64 of 24..64 bytes; generated when absent. */
    signingSecret: z.optional(
      z.string().check(z.regex(/^whsec_[A-Za-z0-9+/=]{32,}$/, 'Expected whsec_<base64>')),
    ),
  }),
  eventbridge: z.strictObject({}),
  mixpanel: z.strictObject({
    serviceAccountUser: z.string(),
    serviceAccountSecret: z.string(),
    /** GDPR API OAuth token (erasure forwarding); without it deletions are skipped. */
    gdprToken: z.optional(z.string().check(z.minLength(1))),
  }),
  ga4: z.strictObject({
    apiSecret: z.string().check(z.minLength(1)),
    /** For erasure forwarding: a service account's JSON key, the account added to the GA4 property. */
    serviceAccountKey: z.optional(
      z
        .string()
        .check(
          z.refine((s) => !('invalid' in parseServiceAccount(s)), 'Expected a service account JSON key file'),
        ),
    ),
  }),
  hubspot: z.strictObject({ accessToken: z.string().check(z.minLength(1)) }),
  braze: z.strictObject({ apiKey: z.string().check(z.minLength(1)) }),
} as const;

export const destinationBodySchema = z.strictObject({
  type: z.enum(DESTINATION_TYPES),
  enabled: z.boolean(),
  filter: z._default(filterSchema, {}),
  settings: z.record(z.string(), z.unknown()),
  /** Credentials: on create, required as the type needs them; on replace, absent keeps the stored ones. */
  credentials: z.optional(z.record(z.string(), z.unknown())),
  consentPurpose: z.enum(PURPOSES),
  /** Segments whose joins and leaves this destination receives (audience sync); needs `marketing`. */
  audiences: z.optional(z.array(tag).check(z.maxLength(20))),
});
export type DestinationBody = z.infer<typeof destinationBodySchema>;

export interface Destination {
  destinationId: string;
  type: DestinationType;
  enabled: boolean;
  filter: DestinationFilter;
  settings: Record<string, unknown>;
  consentPurpose: Purpose;
  audiences: string[];
  /** Names of the credential fields stored (never their values). */
  credentialFields: string[];
  createdAt: string;
  updatedAt: string;
}

/** What one message carries into the filter: its kind and, for events, the event's fields. */
export interface FilterSubject {
  kind: MessageKind;
  type?: string;
  campaignId?: string;
  channel?: string;
  segment?: string;
}

/**
 * Whether a message goes to a destination: the filter's fields all match, and segment joins and
 * leaves go only to destinations following that segment as an audience or asking for the kind.
 * Without `filter.kinds`, a destination takes events, or, when it has audiences, only those.
 * `personTags` is needed only for a filter naming segments (undefined: not loaded yet).
 */
export const matchesFilter = (
  d: Pick<Destination, 'filter' | 'audiences'>,
  m: FilterSubject,
  personTags?: ReadonlySet<string>,
): boolean => {
  const f = d.filter;
  const isSegment = m.kind === 'segment.entered' || m.kind === 'segment.left';
  if (isSegment && m.segment !== undefined && d.audiences.includes(m.segment)) return true;
  // An audience destination syncs its segments only, unless its filter asks for more kinds.
  const kinds = f.kinds ?? (d.audiences.length > 0 ? [] : ['event']);
  if (!kinds.includes(m.kind)) return false;
  if (m.kind === 'event') {
    if (f.types && !(m.type !== undefined && (f.types as string[]).includes(m.type))) return false;
    if (f.channels && !(m.channel !== undefined && (f.channels as string[]).includes(m.channel)))
      return false;
  }
  if (f.campaigns && !(m.campaignId !== undefined && f.campaigns.includes(m.campaignId))) return false;
  if (isSegment && f.segments && !(m.segment !== undefined && f.segments.includes(m.segment))) return false;
  if (!isSegment && f.segments) return personTags !== undefined && f.segments.some((t) => personTags.has(t));
  return true;
};

/** The field errors of a body beyond its shape: per-type settings and credentials, audiences' purpose. */
export const checkTypeFields = (body: DestinationBody, creating: boolean): FieldError[] => {
  const errors: FieldError[] = [];
  if (!DELIVERABLE_TYPES.includes(body.type))
    return [{ path: 'type', message: `${body.type} destinations are not available yet` }];
  const settings = settingsSchemas[body.type].safeParse(body.settings);
  if (!settings.success) errors.push(...fieldErrors(settings.error.issues, ['settings'], body.settings));
  if (body.credentials !== undefined || creating) {
    const creds = credentialSchemas[body.type].safeParse(body.credentials ?? {});
    if (!creds.success)
      errors.push(...fieldErrors(creds.error.issues, ['credentials'], body.credentials ?? {}));
  }
  if (body.type === 'hubspot' && body.settings.mode === 'events' && body.settings.eventName === undefined)
    errors.push({ path: 'settings.eventName', message: 'Required for mode events' });
  if ((body.audiences?.length ?? 0) > 0 && body.consentPurpose !== 'marketing')
    errors.push({
      path: 'consentPurpose',
      message: 'A destination with audiences acts on people (ads, e-mail): it needs the marketing purpose',
    });
  return errors;
};
