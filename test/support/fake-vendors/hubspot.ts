/**
 * HubSpot as documented: Bearer private-app token; custom behavioural events by batch
 * (`/events/v3/send/batch`, ≤ 500 inputs, each `eventName`, `email` or object id, `occurredAt`)
 * and contact upserts (`/crm/v3/objects/contacts/batch/upsert`, ≤ 100 inputs by `idProperty`).
 * An invalid input makes the answer a 207 multi-status naming it in `errors[].context.ids`;
 * valid ones land. Too many inputs, or an upsert naming one contact twice: 400.
 *
 * And the GDPR delete, `POST /crm/v3/objects/contacts/gdpr-delete` `{objectId, idProperty}`: by
 * e-mail with `idProperty: email`; the contact and its events go, and the address is blocklisted
 * (also when no contact has it); 204.
 *
 * And the Properties API (v3, contacts), which needs the `crm.schemas.contacts.write` scope (else
 * 403 MISSING_SCOPES): `POST /crm/v3/properties/contacts/groups` (201, 409 when it exists),
 * `POST /crm/v3/properties/contacts` (201, 409 when it exists) and `.../batch/create` (201; a 207
 * whose errors say OBJECT_ALREADY_EXISTS for the ones that exist, the rest created). An upsert
 * naming a property the portal lacks is refused whole: 400 VALIDATION_ERROR listing
 * PROPERTY_DOESNT_EXIST per name, as HubSpot answers.
 */
import { type FakeServer, startFakeServer } from './server';

export interface FakeHubspot extends FakeServer {
  events: { email: string; eventName: string; uuid?: string }[];
  contacts: Map<string, Record<string, string>>;
  /** E-mails GDPR-deleted (contact or not), in order. */
  gdprDeleted: string[];
  /** Contact properties by name (HubSpot's own and those created), with their definition. */
  properties: Map<string, Record<string, unknown>>;
  groups: Set<string>;
  /** The private app's scopes: remove `crm.schemas.contacts.write` to see the 403. */
  scopes: Set<string>;
}

/** A few of HubSpot's default contact properties: a portal is never empty. */
const DEFAULT_PROPERTIES = ['email', 'firstname', 'lastname', 'lifecyclestage'];
const SCHEMA_SCOPE = 'crm.schemas.contacts.write';
const PROPERTIES = '/crm/v3/properties/contacts';

const error = (status: number, category: string, message: string, extra: object = {}) => ({
  status,
  body: { status: 'error', category, message, correlationId: 'fake', ...extra },
});

const properties = (f: FakeHubspot, url: string, body: string) => {
  if (!f.scopes.has(SCHEMA_SCOPE))
    return error(
      403,
      'MISSING_SCOPES',
      "This app hasn't been granted all required scopes to make this call.",
      {
        errors: [
          {
            message: 'One or more of the following scopes are required.',
            context: { requiredGranularScopes: [SCHEMA_SCOPE] },
          },
        ],
      },
    );
  const input = JSON.parse(body) as Record<string, unknown>;
  if (url === `${PROPERTIES}/groups`) {
    const name = String(input.name);
    if (f.groups.has(name)) return error(409, 'CONFLICT', `A property group named '${name}' already exists.`);
    f.groups.add(name);
    return { status: 201, body: { ...input, archived: false } };
  }
  const invalid = (p: Record<string, unknown>) =>
    typeof p.name !== 'string' ||
    !/^[a-z][a-z0-9_]*$/.test(p.name) ||
    typeof p.label !== 'string' ||
    !f.groups.has(String(p.groupName)) ||
    (p.type === 'bool' &&
      (p.fieldType !== 'booleancheckbox' || (p.options as unknown[] | undefined)?.length !== 2));
  const exists = (p: Record<string, unknown>) =>
    error(409, 'OBJECT_ALREADY_EXISTS', `Property named '${String(p.name)}' already exists.`).body;
  if (url === PROPERTIES) {
    if (invalid(input)) return error(400, 'VALIDATION_ERROR', 'Invalid property definition');
    if (f.properties.has(String(input.name))) return { status: 409, body: exists(input) };
    f.properties.set(String(input.name), input);
    return { status: 201, body: input };
  }
  if (url !== `${PROPERTIES}/batch/create`) return { status: 404 };
  const inputs = (input.inputs ?? []) as Record<string, unknown>[];
  if (inputs.some(invalid)) return error(400, 'VALIDATION_ERROR', 'Invalid property definition');
  const existing = inputs.filter((p) => f.properties.has(String(p.name)));
  const created = inputs.filter((p) => !f.properties.has(String(p.name)));
  for (const p of created) f.properties.set(String(p.name), p);
  const answer = { status: 'COMPLETE', results: created };
  return existing.length === 0
    ? { status: 201, body: answer }
    : { status: 207, body: { ...answer, numErrors: existing.length, errors: existing.map(exists) } };
};

/** HubSpot's answer to an upsert naming properties the portal lacks: the whole batch refused. */
const unknownProperties = (f: FakeHubspot, inputs: Record<string, unknown>[]) => {
  const names = new Set(
    inputs.flatMap((i) => Object.keys((i.properties ?? {}) as object)).filter((n) => !f.properties.has(n)),
  );
  if (names.size === 0) return undefined;
  const list = [...names].map((name) => ({
    isValid: false,
    message: `Property "${name}" does not exist`,
    error: 'PROPERTY_DOESNT_EXIST',
    name,
  }));
  return error(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(list)}`);
};

const gdprDelete = (f: FakeHubspot, body: string) => {
  const input = JSON.parse(body) as { objectId?: string; idProperty?: string };
  if (typeof input.objectId !== 'string' || input.objectId === '')
    return {
      status: 400,
      body: { status: 'error', category: 'VALIDATION_ERROR', message: 'objectId is required' },
    };
  const email = input.idProperty === 'email' ? input.objectId : undefined;
  if (email === undefined)
    return {
      status: 404,
      body: { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'resource not found' },
    };
  f.gdprDeleted.push(email);
  f.contacts.delete(email);
  f.events = f.events.filter((e) => e.email !== email);
  return { status: 204 };
};

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const startFakeHubspot = async (token: string): Promise<FakeHubspot> => {
  let fake: FakeHubspot | undefined;
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeHubspot;
    if (req.headers.authorization !== `Bearer ${token}`)
      return {
        status: 401,
        body: {
          status: 'error',
          category: 'INVALID_AUTHENTICATION',
          message: 'Authentication credentials not found',
        },
      };
    if (req.url === '/crm/v3/objects/contacts/gdpr-delete') return gdprDelete(f, body);
    if (req.url?.startsWith(PROPERTIES)) return properties(f, req.url, body);
    const inputs = (JSON.parse(body) as { inputs: Record<string, unknown>[] }).inputs ?? [];
    const upsert = req.url === '/crm/v3/objects/contacts/batch/upsert';
    if (!upsert && req.url !== '/events/v3/send/batch') return { status: 404 };
    const max = upsert ? 100 : 500;
    if (inputs.length > max)
      return {
        status: 400,
        body: { status: 'error', category: 'VALIDATION_ERROR', message: `Batch input limit is ${max}` },
      };
    // Upserts key on a unique property: a batch naming one record twice is refused whole.
    const ids = inputs.map((i) => String(i.id));
    if (upsert && new Set(ids).size < ids.length)
      return {
        status: 400,
        body: {
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: 'Duplicate IDs found in batch input. IDs must be unique',
        },
      };
    const unknown = upsert ? unknownProperties(f, inputs) : undefined;
    if (unknown) return unknown;
    const failed: string[] = [];
    for (const input of inputs) {
      const email = String(upsert ? input.id : input.email);
      if (!EMAIL.test(email)) {
        failed.push(upsert ? email : String(input.uuid ?? email));
        continue;
      }
      if (upsert)
        f.contacts.set(email, {
          ...(f.contacts.get(email) ?? {}),
          ...(input.properties as Record<string, string>),
        });
      else
        f.events.push({
          email,
          eventName: String(input.eventName),
          ...(input.uuid !== undefined && { uuid: String(input.uuid) }),
        });
    }
    if (failed.length === 0)
      return { status: upsert ? 200 : 204, body: upsert ? { status: 'COMPLETE', results: [] } : undefined };
    return {
      status: 207,
      body: {
        status: 'COMPLETE',
        results: [],
        numErrors: failed.length,
        errors: [
          {
            status: 'error',
            category: 'VALIDATION_ERROR',
            message: 'Invalid email',
            context: { ids: failed },
          },
        ],
      },
    };
  });
  fake = Object.assign(server, {
    events: [],
    contacts: new Map<string, Record<string, string>>(),
    gdprDeleted: [],
    properties: new Map(DEFAULT_PROPERTIES.map((name) => [name, { name, hubspotDefined: true }])),
    groups: new Set(['contactinformation']),
    scopes: new Set(['crm.objects.contacts.write', SCHEMA_SCOPE]),
  });
  return fake;
};
