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
 */
import { type FakeServer, startFakeServer } from './server';

export interface FakeHubspot extends FakeServer {
  events: { email: string; eventName: string; uuid?: string }[];
  contacts: Map<string, Record<string, string>>;
  /** E-mails GDPR-deleted (contact or not), in order. */
  gdprDeleted: string[];
}

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
  });
  return fake;
};
