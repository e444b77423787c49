/**
 * The campaign list analysts open first: every campaign with its last activity, lifetime totals,
 * and the distinct people and daily events of a recent window (the sparkline), sorted by what
 * they ask for. Sorting needs every campaign's sort key, so the list is read whole and paged by
 * offset (the cursor is opaque). Pure.
 */
import * as z from 'zod/mini';
import { timeZoneParam } from './metrics-report';
import { Problem } from './problem';
import { pageQuerySchema } from './query';
import { QUARTER_MS, quarterStartMs } from './time-buckets';
import './zod';

export const CAMPAIGN_SORTS = ['lastActivity', 'events', 'uniqueUsers', 'conversions', 'campaignId'] as const;
export type CampaignSort = (typeof CAMPAIGN_SORTS)[number];
/** At most this many days of window: each is up to 96 quarter rows per shard per campaign. */
export const MAX_WINDOW_DAYS = 90;
export const MAX_LIST_PAGE = 100;

const described = <T extends z.ZodMiniType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

// Own limit and cursor schemas: a description registers on the schema object, which the other
// lists' pageQuerySchema must not share.
export const campaignListQuerySchema = z.object({
  limit: described(
    z.clone(pageQuerySchema.shape.limit),
    `Campaigns per page, 1..${MAX_LIST_PAGE} (larger values are served as ${MAX_LIST_PAGE}); default 50`,
  ),
  cursor: described(
    z.clone(pageQuerySchema.shape.cursor),
    "The previous page's `nextCursor`, with the same sort, order, days and tz",
  ),
  sort: described(
    z._default(z.enum(CAMPAIGN_SORTS), 'lastActivity'),
    'Order: `lastActivity` (default), `events` and `conversions` (lifetime), `uniqueUsers` (in the window), `campaignId`',
  ),
  order: described(
    z.optional(z.enum(['asc', 'desc'])),
    'Direction; default `desc`, except `asc` for `campaignId`. Ties go by campaignId',
  ),
  days: described(
    z._default(
      z
        .pipe(
          z.string().check(z.regex(/^\d{1,2}$/, `Expected an integer 1..${MAX_WINDOW_DAYS}`)),
          z.transform((s) => Number(s)),
        )
        .check(
          z.refine(
            (n: number) => n >= 1 && n <= MAX_WINDOW_DAYS,
            `Expected an integer 1..${MAX_WINDOW_DAYS}`,
          ),
        ),
      7,
    ),
    `The recent window of \`uniqueUsers\` and \`sparkline\`: this many local days in \`tz\`, today included (1..${MAX_WINDOW_DAYS}, default 7)`,
  ),
  tz: timeZoneParam,
});
export type CampaignListQuery = z.infer<typeof campaignListQuerySchema>;

/** What a campaign is sorted by. */
export interface CampaignSortKeys {
  campaignId: string;
  lastActivity?: string | undefined;
  events?: number;
  conversions?: number;
  uniqueUsers?: number;
}

/** The campaigns in the asked order; ties (and missing keys, last) by campaignId. */
export const sortCampaigns = <T extends CampaignSortKeys>(
  items: readonly T[],
  sort: CampaignSort,
  order: 'asc' | 'desc' = sort === 'campaignId' ? 'asc' : 'desc',
): T[] => {
  const sign = order === 'asc' ? 1 : -1;
  const byId = (a: T, b: T) => a.campaignId.localeCompare(b.campaignId);
  return [...items].sort((a, b) => {
    if (sort === 'campaignId') return sign * byId(a, b);
    const x = a[sort];
    const y = b[sort];
    if (x === undefined || y === undefined) return x === y ? byId(a, b) : x === undefined ? 1 : -1;
    const c = typeof x === 'string' ? x.localeCompare(y as string) : (x as number) - (y as number);
    return c !== 0 ? sign * c : byId(a, b);
  });
};

/** The opaque cursor of the sorted list: where the next page starts. */
export const encodeOffset = (offset: number): string =>
  Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

export const decodeOffset = (cursor: string | undefined): number => {
  if (cursor === undefined || cursor === '') return 0;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown };
    if (value && typeof value === 'object' && Number.isSafeInteger(value.o) && (value.o as number) >= 0)
      return value.o as number;
  } catch {
    // the 400 below
  }
  throw new Problem(400, 'validation_failed', 'Invalid cursor', [
    { path: 'cursor', message: 'Invalid cursor' },
  ]);
};

/** The end of the last quarter-hour that holds events: when the campaign was last active. */
export const lastActivityOf = (lastQuarters: readonly (string | undefined)[]): string | undefined => {
  const last = lastQuarters
    .filter((q): q is string => q !== undefined)
    .sort()
    .pop();
  return last === undefined ? undefined : new Date(quarterStartMs(last) + QUARTER_MS).toISOString();
};
