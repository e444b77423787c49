/**
 * Braze's `/users/track` as documented: Bearer REST key; at most 75 objects per request across
 * `events`, `attributes` and `purchases` (400 above); each object needs `external_id` or
 * `user_alias`, events a `name` and an ISO `time`. Answers 201 `{"message": "success"}`, with
 * `errors: [{type, input_array, index}]` for the objects it refused (the others are processed).
 * Events and attributes create the profile they name, except attributes in update-only mode
 * (`_update_existing_only`, the default with a `user_alias`): those reach existing profiles only.
 *
 * And `/users/delete`: at most 50 identifiers of one kind per request (`external_ids`,
 * `user_aliases`, …; 400 otherwise); the key needs `users.delete` (403 without); answers 201
 * `{"deleted": n, "message": "success"}` and forgets the people's events and attributes.
 */
import { type FakeServer, startFakeServer } from './server';

export interface FakeBraze extends FakeServer {
  events: { who: string; name: string; properties: Record<string, unknown> }[];
  /** Each /users/delete request's identifiers (external ids, alias names), in order. */
  deletions: { kind: 'external_ids' | 'user_aliases'; ids: string[] }[];
  /** Array attribute `pulse_segments` per person, after the adds and removes. */
  segments: Map<string, Set<string>>;
  /**
   * Profiles as `external_id:<id>` or `alias:<name>` (an alias is not an external id): tests add
   * the ones the customer's app created.
   */
  profiles: Set<string>;
  /** Update-only attribute objects that named no existing profile (nothing written). */
  skipped: number;
}

type Obj = Record<string, unknown> & { external_id?: string; user_alias?: { alias_name?: string } };

const DELETE_KINDS = ['external_ids', 'user_aliases', 'braze_ids', 'email_addresses', 'phone_numbers'];

const deleteUsers = (f: FakeBraze, body: string, mayDelete: boolean) => {
  if (!mayDelete) return { status: 403, body: { message: 'API key lacks the users.delete permission' } };
  const payload = JSON.parse(body) as Record<string, unknown[]>;
  const kinds = DELETE_KINDS.filter((k) => payload[k] !== undefined);
  const list = kinds.length === 1 ? (payload[kinds[0] as string] ?? []) : [];
  if (kinds.length !== 1 || list.length === 0 || list.length > 50)
    return { status: 400, body: { message: 'Up to 50 identifiers of exactly one kind per request' } };
  const ids = list.map((x) =>
    typeof x === 'string' ? x : String((x as { alias_name?: string }).alias_name ?? ''),
  );
  f.deletions.push({ kind: kinds[0] as 'external_ids' | 'user_aliases', ids });
  const gone = new Set(ids);
  const before = f.events.length + f.segments.size;
  f.events = f.events.filter((e) => !gone.has(e.who));
  for (const id of ids) {
    f.segments.delete(id);
    f.profiles.delete(kinds[0] === 'external_ids' ? `external_id:${id}` : `alias:${id}`);
  }
  return { status: 201, body: { deleted: before - f.events.length - f.segments.size, message: 'success' } };
};

export const startFakeBraze = async (
  apiKey: string,
  options: { usersDelete?: boolean } = {},
): Promise<FakeBraze> => {
  let fake: FakeBraze | undefined;
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeBraze;
    if (req.url !== '/users/track' && req.url !== '/users/delete') return { status: 404 };
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return { status: 401, body: { message: 'Invalid API key' } };
    if (req.url === '/users/delete') return deleteUsers(f, body, options.usersDelete ?? true);
    const payload = JSON.parse(body) as { events?: Obj[]; attributes?: Obj[]; purchases?: Obj[] };
    const total =
      (payload.events?.length ?? 0) + (payload.attributes?.length ?? 0) + (payload.purchases?.length ?? 0);
    if (total > 75) return { status: 400, body: { message: 'Too many objects: at most 75 per request' } };
    const errors: { type: string; input_array: string; index: number }[] = [];
    const who = (o: Obj) => o.external_id ?? o.user_alias?.alias_name;
    const profile = (o: Obj) =>
      o.external_id !== undefined ? `external_id:${o.external_id}` : `alias:${o.user_alias?.alias_name}`;
    (payload.events ?? []).forEach((e, index) => {
      if (!who(e) || typeof e.name !== 'string' || Number.isNaN(Date.parse(String(e.time))))
        errors.push({
          type: 'Event is missing or has invalid name, time or identifier',
          input_array: 'events',
          index,
        });
      else {
        f.profiles.add(profile(e));
        f.events.push({
          who: who(e) as string,
          name: e.name,
          properties: (e.properties ?? {}) as Record<string, unknown>,
        });
      }
    });
    (payload.attributes ?? []).forEach((a, index) => {
      const id = who(a);
      if (!id) {
        errors.push({ type: 'Attribute object has no identifier', input_array: 'attributes', index });
        return;
      }
      const updateOnly = a._update_existing_only ?? a.external_id === undefined;
      if (updateOnly && !f.profiles.has(profile(a))) {
        f.skipped++;
        return;
      }
      f.profiles.add(profile(a));
      const op = a.pulse_segments as { add?: string[]; remove?: string[] } | undefined;
      const set = f.segments.get(id) ?? new Set<string>();
      for (const s of op?.add ?? []) set.add(s);
      for (const s of op?.remove ?? []) set.delete(s);
      f.segments.set(id, set);
    });
    return { status: 201, body: { message: 'success', ...(errors.length > 0 && { errors }) } };
  });
  fake = Object.assign(server, {
    events: [],
    deletions: [],
    segments: new Map<string, Set<string>>(),
    profiles: new Set<string>(),
    skipped: 0,
  });
  return fake;
};
