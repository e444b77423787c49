/**
 * A fake HubSpot: `POST /crm/v3/objects/contacts/search` as HubSpot documents it — a private-app
 * token (Bearer), filterGroups (EQ, GTE, GT, LTE, LT on a property), one sort, `properties`,
 * `limit` (at most 200) and `after` (an offset; 400 past 10,000 results), every property value a
 * string, `lastmodifieddate` in ISO form, `paging.next.after` while more remain — and its 429
 * `RATE_LIMIT` answers (with or without Retry-After) when a test asks for them.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeContact {
  id: string;
  /** Epoch ms of the last change (`lastmodifieddate`). */
  modified: number;
  properties: Record<string, string | null>;
}

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
}

export interface FakeHubspot {
  url: string;
  contacts: Map<string, FakeContact>;
  /** Search calls answered so far (429s included). */
  calls: number;
  /** Bodies of the search calls, in order. */
  requests: Record<string, unknown>[];
  /** Answer this call (1-based) with a 429; `retryAfter` seconds in the header when given. */
  rateLimit: (call: number) => { retryAfter?: number } | undefined;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const propertyOf = (c: FakeContact, property: string): string | null =>
  property === 'lastmodifieddate'
    ? String(c.modified)
    : property === 'hs_object_id'
      ? c.id
      : (c.properties[property] ?? null);

const matches = (c: FakeContact, f: Filter): boolean => {
  const raw = propertyOf(c, f.propertyName);
  if (raw === null || f.value === undefined) return false;
  const numeric = /^-?\d+(\.\d+)?$/.test(raw) && /^-?\d+(\.\d+)?$/.test(f.value);
  const [a, b] = numeric ? [Number(raw), Number(f.value)] : [raw, f.value];
  switch (f.operator) {
    case 'EQ':
      return a === b;
    case 'GTE':
      return a >= b;
    case 'GT':
      return a > b;
    case 'LTE':
      return a <= b;
    case 'LT':
      return a < b;
    default:
      throw new Error(`operator ${f.operator} not implemented by the fake`);
  }
};

export const startFakeHubspot = async (token: string): Promise<FakeHubspot> => {
  const fake: FakeHubspot = {
    url: '',
    contacts: new Map(),
    calls: 0,
    requests: [],
    rateLimit: () => undefined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/crm/v3/objects/contacts/search')
      return send(404, { status: 'error', message: 'Not found', category: 'OBJECT_NOT_FOUND' });
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(401, {
        status: 'error',
        message: 'Authentication credentials not found.',
        category: 'INVALID_AUTHENTICATION',
      });
    fake.calls++;
    const limited = fake.rateLimit(fake.calls);
    if (limited)
      return send(
        429,
        {
          status: 'error',
          message: 'You have reached your secondly limit.',
          errorType: 'RATE_LIMIT',
          policyName: 'SECONDLY',
        },
        limited.retryAfter !== undefined ? { 'retry-after': String(limited.retryAfter) } : {},
      );
    const body = JSON.parse(await readBody(req)) as {
      filterGroups?: { filters: Filter[] }[];
      sorts?: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
      properties?: string[];
      limit?: number;
      after?: string;
    };
    fake.requests.push(body);
    const limit = body.limit ?? 10;
    if (limit > 200)
      return send(400, {
        status: 'error',
        message: 'limit must be at most 200',
        category: 'VALIDATION_ERROR',
      });
    const offset = body.after === undefined ? 0 : Number(body.after);
    if (offset >= 10_000)
      return send(400, {
        status: 'error',
        message: 'Search paging is limited to 10,000 results',
        category: 'VALIDATION_ERROR',
      });
    const groups = body.filterGroups ?? [];
    let found = [...fake.contacts.values()].filter(
      (c) => groups.length === 0 || groups.some((g) => g.filters.every((f) => matches(c, f))),
    );
    const sort = body.sorts?.[0];
    if (sort) {
      const dir = sort.direction === 'DESCENDING' ? -1 : 1;
      const key = (c: FakeContact) =>
        sort.propertyName === 'lastmodifieddate' ? c.modified : propertyOf(c, sort.propertyName);
      found = found.sort((x, y) => {
        const [a, b] = [key(x) ?? '', key(y) ?? ''];
        return a < b ? -dir : a > b ? dir : Number(x.id) - Number(y.id);
      });
    }
    const page = found.slice(offset, offset + limit);
    const requested = body.properties ?? ['email', 'firstname', 'lastname'];
    send(200, {
      total: found.length,
      results: page.map((c) => ({
        id: c.id,
        properties: {
          ...Object.fromEntries(requested.map((p) => [p, propertyOf(c, p)])),
          hs_object_id: c.id,
          lastmodifieddate: new Date(c.modified).toISOString(),
        },
        createdAt: new Date(c.modified).toISOString(),
        updatedAt: new Date(c.modified).toISOString(),
        archived: false,
      })),
      ...(offset + limit < found.length && {
        paging: { next: { after: String(offset + limit), link: `?after=${offset + limit}` } },
      }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
};
