/**
 * Mixpanel's `/import` as documented (docs.mixpanel.com, Import Events and its error pages):
 * service-account Basic auth and `project_id`; at most 2,000 events and 10 MB uncompressed per
 * request (413 above), 1 MB per event; with `strict=1` each event is validated — `time` (seconds or
 * ms, not before 1971 nor more than an hour ahead), `distinct_id`, `$insert_id` (≤ 36 of
 * [A-Za-z0-9-]) — and a 400 is a partial success naming each refused event in `failed_records`
 * while the rest are imported. Events are deduplicated on `$insert_id`.
 *
 * And the GDPR API v3, `POST /api/app/data-deletions/v3.0/?token=<project token>` with the GDPR
 * OAuth token (Bearer): `distinct_ids` (1..2,000), `compliance_type` GDPR or CCPA; 200 with a task id;
 * the distinct ids' events are forgotten.
 */
import { type FakeServer, startFakeServer } from './server';

export interface ImportedEvent {
  event: string;
  properties: Record<string, unknown> & { distinct_id: string; $insert_id: string; time: number };
}

export interface FakeMixpanel extends FakeServer {
  /** Imported events by $insert_id (deduplicated, as Mixpanel does). */
  imported: Map<string, ImportedEvent>;
  /** Import calls that carried an $insert_id already imported. */
  duplicates: number;
  /** Each deletion task's distinct ids, in order. */
  deletions: { taskId: string; distinctIds: string[]; complianceType: string }[];
}

const createDeletion = (
  f: FakeMixpanel,
  url: URL,
  authorization: string | undefined,
  body: string,
  gdpr: { gdprToken?: string; projectToken?: string },
) => {
  if (!gdpr.gdprToken || authorization !== `Bearer ${gdpr.gdprToken}`)
    return { status: 401, body: { status: 'error', error: 'Invalid OAuth token' } };
  if (url.searchParams.get('token') !== gdpr.projectToken)
    return { status: 403, body: { status: 'error', error: 'token does not name a project you own' } };
  const input = JSON.parse(body) as { distinct_ids?: unknown; compliance_type?: string };
  const ids = input.distinct_ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 2000)
    return { status: 400, body: { status: 'error', error: 'distinct_ids: 1 to 2000 ids' } };
  const complianceType = input.compliance_type ?? 'GDPR';
  if (!['GDPR', 'CCPA'].includes(complianceType))
    return { status: 400, body: { status: 'error', error: 'compliance_type: GDPR or CCPA' } };
  const taskId = `task-${f.deletions.length + 1}`;
  f.deletions.push({ taskId, distinctIds: ids.map(String), complianceType });
  const gone = new Set(ids.map(String));
  for (const [k, e] of f.imported) if (gone.has(e.properties.distinct_id)) f.imported.delete(k);
  return { status: 200, body: { status: 'ok', results: { task_id: taskId } } };
};

export const MIXPANEL_LIMITS = { events: 2000, bytes: 10_000_000, eventBytes: 1_000_000 } as const;
const PLACEHOLDER_IDS = new Set(['anon', 'anonymous', 'nil', 'none', 'null', 'n/a', 'undefined', '0', '-1']);

/** Why strict validation refuses an event ([field, message]), or undefined. */
const refusal = (
  e: ImportedEvent,
  p: ImportedEvent['properties'],
  insertId: string,
): [string, string] | undefined => {
  const ms = typeof p.time === 'number' ? (p.time < 1e11 ? p.time * 1000 : p.time) : Number.NaN;
  if (JSON.stringify(e).length > MIXPANEL_LIMITS.eventBytes) return ['event', 'event exceeds 1MB'];
  if (typeof e?.event !== 'string' || e.event === '') return ['event', "'event' must be a non-empty string"];
  if (!/^[A-Za-z0-9-]{1,36}$/.test(insertId)) return ['properties.$insert_id', "'$insert_id' is invalid"];
  if (!(ms >= Date.UTC(1971, 0, 1)) || ms > Date.now() + 3_600_000)
    return ['properties.time', "'properties.time' is invalid"];
  if (typeof p.distinct_id !== 'string' || PLACEHOLDER_IDS.has(p.distinct_id.toLowerCase()))
    return ['properties.distinct_id', "'properties.distinct_id' is invalid"];
  return undefined;
};

export const startFakeMixpanel = async (auth: {
  projectId: string;
  user: string;
  secret: string;
  /** The GDPR API's OAuth token and the project token it names. */
  gdprToken?: string;
  projectToken?: string;
}): Promise<FakeMixpanel> => {
  let fake: FakeMixpanel | undefined;
  const expected = `Basic ${Buffer.from(`${auth.user}:${auth.secret}`).toString('base64')}`;
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeMixpanel;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/api/app/data-deletions/v3.0/')
      return createDeletion(f, url, req.headers.authorization, body, auth);
    if (req.method !== 'POST' || url.pathname !== '/import') return { status: 404 };
    if (req.headers.authorization !== expected)
      return { status: 401, body: { code: 401, error: 'Invalid credentials', status: 'Unauthorized' } };
    if (url.searchParams.get('project_id') !== auth.projectId)
      return {
        status: 403,
        body: { code: 403, error: 'project_id does not match the service account', status: 'Forbidden' },
      };
    if (Buffer.byteLength(body) > MIXPANEL_LIMITS.bytes)
      return {
        status: 413,
        body: { code: 413, error: `request exceeds max limit of ${MIXPANEL_LIMITS.bytes} bytes` },
      };
    let events: ImportedEvent[];
    try {
      events = JSON.parse(body);
    } catch {
      return {
        status: 400,
        body: { code: 400, error: 'unable to parse request body', status: 'Bad Request' },
      };
    }
    if (!Array.isArray(events) || events.length > MIXPANEL_LIMITS.events)
      return {
        status: 400,
        body: {
          code: 400,
          error: `expected an array of at most ${MIXPANEL_LIMITS.events} events`,
          status: 'Bad Request',
        },
      };
    const failed: { index: number; insert_id: string; field: string; message: string }[] = [];
    let imported = 0;
    for (const [index, e] of events.entries()) {
      const p = e?.properties ?? ({} as ImportedEvent['properties']);
      const insertId = String(p.$insert_id ?? '');
      const refused = refusal(e, p, insertId);
      if (refused) {
        failed.push({ index, insert_id: insertId, field: refused[0], message: refused[1] });
        continue;
      }
      if (f.imported.has(insertId)) f.duplicates++;
      else f.imported.set(insertId, e);
      imported++;
    }
    if (failed.length > 0)
      return {
        status: 400,
        body: {
          code: 400,
          error: 'some data points in the request failed validation',
          status: 'Bad Request',
          num_records_imported: imported,
          failed_records: failed,
        },
      };
    return { status: 200, body: { code: 200, num_records_imported: imported, status: 'OK' } };
  });
  fake = Object.assign(server, { imported: new Map<string, ImportedEvent>(), duplicates: 0, deletions: [] });
  return fake;
};
