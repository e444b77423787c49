/**
 * The HubSpot contact properties a `hubspot` destination in `properties` mode writes, created by
 * Pulse through HubSpot's CRM Properties API (v3) so the admin never creates them by hand (as
 * Segment's and Hightouch's HubSpot syncs do): a property group `pulse_audiences`
 * (`POST /crm/v3/properties/contacts/groups`), then the properties in one batch
 * (`POST /crm/v3/properties/contacts/batch/create`), one by one
 * (`POST /crm/v3/properties/contacts`) if the batch is refused because some exist. "Already
 * exists" (409, or a batch error saying so) is success: re-saving a destination is idempotent.
 * Needs the private app's `crm.schemas.contacts.write` scope. Pure: the admin function sends
 * (functions/adapters/hubspot-properties.ts).
 */
import type { VendorAnswer } from './delivery';
import type { HttpRequest } from './vendors';

export const HUBSPOT_PROPERTY_GROUP = 'pulse_audiences';
/** The scope the Properties API needs to create contact properties. */
export const HUBSPOT_SCHEMA_SCOPE = 'crm.schemas.contacts.write';
/** Properties per batch create request (a destination has at most 20 audiences and 4 others). */
export const HUBSPOT_PROPERTIES_PER_BATCH = 100;

export interface HubspotPropertyDefinition {
  name: string;
  label: string;
  description: string;
  groupName: string;
  type: 'bool' | 'string' | 'datetime';
  fieldType: 'booleancheckbox' | 'text' | 'date';
  options?: { label: string; value: string; displayOrder: number; hidden: boolean }[];
}

/** The contact property holding one audience's membership: `true` while the contact is in the segment. */
export const hubspotSegmentProperty = (segment: string): string =>
  `pulse_segment_${segment.replace(/[^a-z0-9_]/g, '_')}`;

const text = (name: string, label: string, description: string): HubspotPropertyDefinition => ({
  name,
  label,
  description,
  groupName: HUBSPOT_PROPERTY_GROUP,
  type: 'string',
  fieldType: 'text',
});

/** Every property the codec (vendors.ts, hubspot `properties`) may write for these audiences. */
export const hubspotPropertyDefinitions = (audiences: readonly string[]): HubspotPropertyDefinition[] => [
  {
    ...text('pulse_last_seen_at', 'Pulse: last seen', 'When Pulse last saw this contact'),
    type: 'datetime',
    fieldType: 'date',
  },
  text('pulse_last_event', 'Pulse: last event', 'The type of the last event Pulse saw'),
  text('pulse_last_campaign', 'Pulse: last campaign', 'The campaign of the last event Pulse saw'),
  text('pulse_last_segment_change', 'Pulse: last segment change', '+segment on a join, -segment on a leave'),
  ...[...new Set(audiences)].map(
    (segment): HubspotPropertyDefinition => ({
      name: hubspotSegmentProperty(segment),
      label: `Pulse segment: ${segment}`,
      description: `True while the contact is in the Pulse segment ${segment}`,
      groupName: HUBSPOT_PROPERTY_GROUP,
      type: 'bool',
      fieldType: 'booleancheckbox',
      options: [
        { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
        { label: 'No', value: 'false', displayOrder: 1, hidden: false },
      ],
    }),
  ),
];

const post = (url: string, token: string, body: unknown): HttpRequest => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  body: JSON.stringify(body),
});

const propertiesUrl = (baseUrl: string | undefined) =>
  `${baseUrl ?? 'https://api.hubapi.com'}/crm/v3/properties/contacts`;

export const propertyGroupRequest = (baseUrl: string | undefined, token: string): HttpRequest =>
  post(`${propertiesUrl(baseUrl)}/groups`, token, {
    name: HUBSPOT_PROPERTY_GROUP,
    label: 'Pulse audiences',
    displayOrder: -1,
  });

export const batchCreateRequests = (
  baseUrl: string | undefined,
  token: string,
  definitions: readonly HubspotPropertyDefinition[],
): HttpRequest[] => {
  const out: HttpRequest[] = [];
  for (let i = 0; i < definitions.length; i += HUBSPOT_PROPERTIES_PER_BATCH)
    out.push(
      post(`${propertiesUrl(baseUrl)}/batch/create`, token, {
        inputs: definitions.slice(i, i + HUBSPOT_PROPERTIES_PER_BATCH),
      }),
    );
  return out;
};

export const createPropertyRequest = (
  baseUrl: string | undefined,
  token: string,
  definition: HubspotPropertyDefinition,
): HttpRequest => post(propertiesUrl(baseUrl), token, definition);

/** What one Properties API answer means for the setup. */
export type PropertiesStep =
  | { kind: 'done' }
  /** A batch refused because some of its properties exist: create them one by one. */
  | { kind: 'conflict' }
  /** 401/403: the token is wrong or lacks the scope; the admin must fix the credentials. */
  | { kind: 'credentials'; message: string }
  /** Anything else (outage, throttling, a refused definition): try again by saving again. */
  | { kind: 'failed'; message: string };

const parse = (body: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const alreadyExists = (e: { category?: unknown; message?: unknown; subCategory?: unknown }) =>
  e.category === 'OBJECT_ALREADY_EXISTS' ||
  e.category === 'CONFLICT' ||
  /already exists/i.test(String(e.message ?? '')) ||
  /PROPERTY_EXISTS|ALREADY_EXISTS/.test(String(e.subCategory ?? ''));

/**
 * Read a group, batch or single create answer. 2xx done (a 207 only when each error says the
 * property exists); 409 done for a group or a single property, `conflict` for a batch.
 */
export const readPropertiesAnswer = (answer: VendorAnswer, batch = false): PropertiesStep => {
  if ('failure' in answer) return { kind: 'failed', message: `HubSpot ${answer.failure}: ${answer.message}` };
  const body = parse(answer.body);
  const message = String(body?.message ?? '').slice(0, 160);
  if (answer.status === 207) {
    const errors = (body?.errors ?? []) as { category?: unknown; message?: unknown }[];
    const other = errors.find((e) => !alreadyExists(e));
    return other === undefined
      ? { kind: 'done' }
      : {
          kind: 'failed',
          message: `HubSpot refused a property: ${String(other.message ?? '').slice(0, 160)}`,
        };
  }
  if (answer.status >= 200 && answer.status < 300) return { kind: 'done' };
  if (answer.status === 409) return batch ? { kind: 'conflict' } : { kind: 'done' };
  if (answer.status === 401)
    return { kind: 'credentials', message: `HubSpot refused the token (401 ${message})`.slice(0, 200) };
  if (answer.status === 403)
    return {
      kind: 'credentials',
      message:
        `The private app's token lacks the ${HUBSPOT_SCHEMA_SCOPE} scope Pulse needs to create its contact properties (403 ${message})`.slice(
          0,
          240,
        ),
    };
  return { kind: 'failed', message: `HubSpot answered ${answer.status} ${message}`.slice(0, 200) };
};

/**
 * The contact properties an upsert answer says do not exist (HubSpot's 400 VALIDATION_ERROR whose
 * message lists `{error: "PROPERTY_DOESNT_EXIST", name}`), or none. Names only: never a value.
 */
export const missingProperties = (body: string): string[] => {
  if (!body.includes('PROPERTY_DOESNT_EXIST')) return [];
  const message = String(parse(body)?.message ?? body);
  const names = new Set<string>();
  const list = message.indexOf('[');
  if (list >= 0) {
    try {
      for (const e of JSON.parse(message.slice(list)) as { error?: string; name?: string }[])
        if (e.error === 'PROPERTY_DOESNT_EXIST' && typeof e.name === 'string') names.add(e.name);
    } catch {
      // Not the documented list: fall back to the sentence form below.
    }
  }
  for (const m of message.matchAll(/Property \\?"([a-z0-9_]+)\\?" does not exist/g))
    names.add(m[1] as string);
  return [...names].sort();
};
