/**
 * A CRM connector's pure parts: its settings, the HubSpot CRM search request for one page of
 * contacts changed since the cursor, the cursor's advance, and a contact's properties as trait
 * values. The I/O (HubSpot, the token, the stream, the cursor item) is in functions/traits/crm-sync.ts.
 *
 * The cursor is `since` (epoch ms of `lastmodifieddate`), `after` (HubSpot's paging token inside the
 * current query) and `seenAtSince` (ids already applied whose last change is exactly `since`). The
 * query is `lastmodifieddate >= since`, sorted ascending, so a contact changed again moves to the
 * end, and each page restarts the query from the last change seen (see `advance`): no query pages
 * deep, so HubSpot's 10,000-results-per-query bound is never met.
 */
import * as z from 'zod/mini';
import { idText, personIdSchema } from './events';
import { fromText, type TraitContext, type TraitType, traitNameSchema, typedValue } from './traits';

export const HUBSPOT_LIMITS = {
  /** Results per page (the search API's maximum is 200). */
  pageSize: 100,
  properties: 50,
} as const;

const hubspotProperty = idText(100).check(
  z.regex(/^[a-z0-9_]+$/, 'Expected a HubSpot internal property name'),
);

export const connectorIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'Expected 1..64 characters of A-Z, a-z, 0-9, _ and -'));

export const connectorBodySchema = z.strictObject({
  kind: z.literal('hubspot'),
  /** HubSpot contact property → declared trait. */
  properties: z.record(hubspotProperty, traitNameSchema).check(
    z.refine((p) => Object.keys(p).length >= 1 && Object.keys(p).length <= HUBSPOT_LIMITS.properties, {
      message: `Map 1..${HUBSPOT_LIMITS.properties} properties`,
    }),
  ),
  /**
   * How a contact finds its Pulse person: a property holding the Pulse user id, or a property
   * (an e-mail) whose keyed hash is a declared `pii: "hash"` trait people already carry.
   */
  match: z.discriminatedUnion('by', [
    z.strictObject({ by: z.literal('userId'), property: hubspotProperty }),
    z.strictObject({ by: z.literal('hashedTrait'), property: hubspotProperty, trait: traitNameSchema }),
  ]),
  /** Minutes between pulls (the schedule runs every 5). */
  everyMinutes: z._default(z.int().check(z.gte(5), z.lte(1440)), 15),
  enabled: z._default(z.boolean(), true),
});
export type ConnectorBody = z.infer<typeof connectorBodySchema>;
export interface Connector extends ConnectorBody {
  connectorId: string;
  updatedAt: string;
}

export interface SyncCursor {
  since: number;
  after?: string;
  seenAtSince: string[];
}
export const START_CURSOR: SyncCursor = { since: 0, seenAtSince: [] };

/** A contact as the search API answers it (every property value a string, or null). */
export interface HubspotContact {
  id: string;
  properties: Record<string, string | null | undefined>;
  updatedAt?: string;
}

export interface SearchPage {
  results: HubspotContact[];
  paging?: { next?: { after?: string } };
}

/** Contacts' last-change property (for other objects it is `hs_lastmodifieddate`). */
export const MODIFIED = 'lastmodifieddate';

/** The body of `POST /crm/v3/objects/contacts/search` for the page at the cursor. */
export const searchRequest = (connector: ConnectorBody, cursor: SyncCursor) => ({
  filterGroups: [{ filters: [{ propertyName: MODIFIED, operator: 'GTE', value: String(cursor.since) }] }],
  sorts: [{ propertyName: MODIFIED, direction: 'ASCENDING' }],
  properties: [...new Set([...Object.keys(connector.properties), connector.match.property, MODIFIED])],
  limit: HUBSPOT_LIMITS.pageSize,
  ...(cursor.after !== undefined && { after: cursor.after }),
});

/** When a contact last changed (epoch ms), from `lastmodifieddate` (ISO or ms) or `updatedAt`. */
export const modifiedAt = (c: HubspotContact): number => {
  const raw = c.properties[MODIFIED] ?? c.updatedAt;
  if (raw == null) return 0;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return Number.isNaN(ms) ? 0 : ms;
};

/** Contacts of a page not yet applied (the ones at exactly `since` that the cursor remembers). */
export const unseen = (page: SearchPage, cursor: SyncCursor): HubspotContact[] =>
  page.results.filter((c) => !(modifiedAt(c) === cursor.since && cursor.seenAtSince.includes(c.id)));

/**
 * The cursor once a page is applied. Keyset paging: the next query starts at the newest change
 * seen, past the ids already applied at that instant — an offset (`after`) inside a query would
 * skip a contact whenever one before it changed meanwhile and moved to the end. Only a whole page
 * of contacts changed at one instant (a bulk edit in the CRM) pages on with `after`, within it.
 * `done`: nothing more to pull now.
 */
export const advance = (cursor: SyncCursor, page: SearchPage): { cursor: SyncCursor; done: boolean } => {
  let { since, seenAtSince } = cursor;
  for (const c of page.results) {
    const at = modifiedAt(c);
    if (at > since) {
      since = at;
      seenAtSince = [c.id];
    } else if (at === since && !seenAtSince.includes(c.id)) seenAtSince = [...seenAtSince, c.id];
  }
  const full = page.results.length >= HUBSPOT_LIMITS.pageSize;
  const after = page.paging?.next?.after;
  if (since === cursor.since && full && after !== undefined)
    return { cursor: { since, seenAtSince, after }, done: false };
  return { cursor: { since, seenAtSince }, done: !full || after === undefined };
};

/** A HubSpot value (always a string) as the declared type wants it; empty unsets the trait. */
export const fromHubspot = (type: TraitType, raw: string | null | undefined): unknown =>
  raw == null || raw === '' ? null : fromText(type, raw);

/** A contact's mapped properties as raw trait values (checked by checkTraits afterwards). */
export const contactTraits = (
  connector: ConnectorBody,
  contact: HubspotContact,
  traits: TraitContext,
): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [property, trait] of Object.entries(connector.properties)) {
    const decl = traits.declarations.get(trait);
    if (!decl || !Object.hasOwn(contact.properties, property)) continue;
    out[trait] = fromHubspot(decl.type, contact.properties[property]);
  }
  return out;
};

/** The Pulse user id a contact names (match by userId), when it is a valid id. */
export const matchedUserId = (connector: ConnectorBody, contact: HubspotContact): string | undefined => {
  const raw = contact.properties[connector.match.property];
  if (raw == null) return undefined;
  const parsed = personIdSchema.safeParse(raw.trim());
  return parsed.success ? parsed.data : undefined;
};

/** The value a hashed-trait match hashes (an e-mail), when the contact has one that types. */
export const matchValue = (connector: ConnectorBody, contact: HubspotContact): string | undefined => {
  const raw = contact.properties[connector.match.property];
  if (raw == null || raw.trim() === '') return undefined;
  const typed = typedValue('string', raw);
  return 'value' in typed && typeof typed.value === 'string' ? typed.value : undefined;
};

/** Is the connector due at `now` (its interval since the last run's start has passed)? */
export const isDue = (connector: ConnectorBody, lastStart: string | undefined, now: Date): boolean =>
  connector.enabled &&
  (lastStart === undefined ||
    Date.parse(lastStart) + connector.everyMinutes * 60_000 <= now.getTime() + 30_000);
