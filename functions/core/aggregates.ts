/**
 * The aggregates the consumer keeps, declared once: for each, how an event contributes to it
 * (which counter attribute, by how much), how its attributes are named in a counter item, and
 * how a report reads and sums them back. The fold (campaign-counters.ts), the metrics
 * repository, the campaign report and the OpenAPI document all read these declarations.
 * Pure.
 *
 * Adding a breakdown is one entry in `campaignAggregates` (plus its tests): the consumer starts
 * counting it from the next batch, and the report and its schema show it.
 */
import * as z from 'zod/mini';
import { type CanonicalEvent, EVENT_TYPES } from './events';

export interface CampaignAggregate {
  /**
   * Attribute of its counters in a counter item: exactly `prefix` for a single counter, else
   * `<prefix>_<key>` (`t_click`, `d_mobile`, `r_EUR`). Prefixes are unique.
   */
  readonly prefix: string;
  /** Report member this aggregate is shown as. */
  readonly member: string;
  readonly description: string;
  /** `count`: one per event; `sum`: an amount per event (money). */
  readonly kind: 'count' | 'sum';
  /** One counter, no keys (the report member is a number). */
  readonly single?: true;
  /** What an event adds: key (undefined for a single counter) and amount; undefined: nothing. */
  readonly extract: (event: CanonicalEvent) => { key?: string; amount: number } | undefined;
  /** Keys always present in the report (0 when never counted), in this order. */
  readonly denseKeys?: readonly string[];
  /** Stored key → reported key. */
  readonly rename?: Readonly<Record<string, string>>;
  /** Also shown per series bucket (hour or day), as this member of each series entry. */
  readonly seriesMember?: string;
  /** Counts bots' events only (every other aggregate leaves them out): docs/data-quality.md. */
  readonly bots?: true;
}

const conversionValue = (event: CanonicalEvent): { key: string; amount: number } | undefined => {
  if (event.type !== 'conversion' || typeof event.data.value !== 'number') return undefined;
  const currency = typeof event.data.currency === 'string' ? event.data.currency : 'XXX';
  return { key: currency, amount: event.data.value };
};

/** Campaign counters: kept per campaign, per UTC quarter-hour and in total, per stream shard. */
export const campaignAggregates = {
  events: {
    prefix: 'n',
    member: 'events',
    description: 'Every event of the campaign',
    kind: 'count',
    single: true,
    extract: () => ({ amount: 1 }),
  },
  type: {
    prefix: 't',
    member: 'totals',
    description: 'Events by type',
    kind: 'count',
    extract: (e) => ({ key: e.type, amount: 1 }),
    denseKeys: EVENT_TYPES,
    seriesMember: 'counts',
  },
  deviceType: {
    prefix: 'd',
    member: 'byDeviceType',
    description: 'Events by device type',
    kind: 'count',
    extract: (e) => ({ key: e.deviceType, amount: 1 }),
  },
  channel: {
    prefix: 'c',
    member: 'byChannel',
    description: 'Events by channel (`unknown` when neither the event nor its source named one)',
    kind: 'count',
    extract: (e) => ({ key: e.channel ?? 'none', amount: 1 }),
    rename: { none: 'unknown' },
  },
  conversionValue: {
    prefix: 'r',
    member: 'conversionValue',
    description: 'Sum of conversion values by ISO-4217 currency (`XXX`: none given)',
    kind: 'sum',
    extract: conversionValue,
  },
  // Clean data at the edge (docs/data-quality.md): bots set aside, country, first/last touch.
  botEvents: {
    prefix: 'b',
    member: 'botEventsExcluded',
    description: "Bots' events (by user agent or behaviour): left out of every other number of this report",
    kind: 'count',
    single: true,
    bots: true,
    extract: () => ({ amount: 1 }),
  },
  country: {
    prefix: 'g',
    member: 'byCountry',
    description: 'Events by ISO 3166-1 country of the request (when the deployment resolves countries)',
    kind: 'count',
    extract: (e) => (e.country === undefined ? undefined : { key: e.country, amount: 1 }),
  },
  firstTouch: {
    prefix: 'af',
    member: 'firstTouchConversions',
    description: 'Conversions (under any campaign) of persons this campaign touched first',
    kind: 'count',
    single: true,
    extract: () => undefined,
  },
  lastTouch: {
    prefix: 'al',
    member: 'lastTouchConversions',
    description: 'Conversions (under any campaign) of persons this campaign touched last before converting',
    kind: 'count',
    single: true,
    extract: () => undefined,
  },
} as const satisfies Record<string, CampaignAggregate>;

/** Counter attribute a conversion's credit to a touching campaign goes to. */
export const touchAttribute = (model: 'first' | 'last'): string =>
  model === 'first' ? campaignAggregates.firstTouch.prefix : campaignAggregates.lastTouch.prefix;

export type CampaignAggregateName = keyof typeof campaignAggregates;
const aggregateList: readonly CampaignAggregate[] = Object.values(campaignAggregates);

/** Sums are kept to a millionth: float noise never reaches a stored total. */
export const roundAmount = (n: number): number => Math.round(n * 1e6) / 1e6;

const attributeOf = (a: CampaignAggregate, key: string | undefined) =>
  key === undefined ? a.prefix : `${a.prefix}_${key}`;

/** What one event adds to its campaign's counters: counter attribute → amount. */
export const campaignContribution = (event: CanonicalEvent): Record<string, number> => {
  const out: Record<string, number> = {};
  const bot = event.bot !== undefined;
  for (const a of aggregateList) {
    if ((a.bots === true) !== bot) continue;
    const c = a.extract(event);
    if (c) out[attributeOf(a, c.key)] = c.amount;
  }
  return out;
};

/** The aggregate a counter attribute belongs to, and its key; undefined for any other attribute. */
const parseAttribute = (name: string): { aggregate: CampaignAggregate; key?: string } | undefined => {
  for (const a of aggregateList) {
    if (name === a.prefix) return { aggregate: a };
    if (name.startsWith(`${a.prefix}_`)) return { aggregate: a, key: name.slice(a.prefix.length + 1) };
  }
  return undefined;
};

/** The counter attributes of a stored item (every declared aggregate's numbers, nothing else). */
export const counterAttributes = (item: Record<string, unknown>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(item)) if (typeof v === 'number' && parseAttribute(k)) out[k] = v;
  return out;
};

/** Adds counter attributes into `into` (summing over shards, buckets, items). */
export const addCounters = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = roundAmount((into[k] ?? 0) + v);
};

type Breakdown = Record<string, number>;

/** One aggregate's report member from summed counter attributes. */
const breakdownOf = (a: CampaignAggregate, counts: Record<string, number>): Breakdown | number => {
  if (a.single) return counts[a.prefix] ?? 0;
  const out: Breakdown = {};
  for (const key of a.denseKeys ?? []) out[key] = 0;
  for (const [name, v] of Object.entries(counts)) {
    const parsed = parseAttribute(name);
    // Sparse breakdowns list only what was counted.
    if (parsed?.aggregate !== a || parsed.key === undefined || (v === 0 && !a.denseKeys)) continue;
    const key = a.rename?.[parsed.key] ?? parsed.key;
    out[key] = roundAmount((out[key] ?? 0) + v);
  }
  return out;
};

export type CampaignBreakdowns = {
  [K in CampaignAggregateName as (typeof campaignAggregates)[K]['member']]: K extends 'events'
    ? number
    : Breakdown;
};

/** Every declared aggregate as its report member. */
export const campaignBreakdowns = (counts: Record<string, number>): CampaignBreakdowns =>
  Object.fromEntries(aggregateList.map((a) => [a.member, breakdownOf(a, counts)])) as CampaignBreakdowns;

export type SeriesBreakdowns = {
  [K in CampaignAggregateName as (typeof campaignAggregates)[K] extends {
    seriesMember: infer M extends string;
  }
    ? M
    : never]: Breakdown;
};

/** The members shown per series bucket. */
export const seriesBreakdowns = (counts: Record<string, number>): SeriesBreakdowns =>
  Object.fromEntries(
    aggregateList.flatMap((a) => (a.seriesMember ? [[a.seriesMember, breakdownOf(a, counts)]] : [])),
  ) as SeriesBreakdowns;

/** A series entry's members as a schema (OpenAPI). */
export const seriesBreakdownsSchema = z.object(
  Object.fromEntries(
    aggregateList.flatMap((a) =>
      a.seriesMember ? [[a.seriesMember, a.single ? z.int() : z.record(z.string(), z.number())]] : [],
    ),
  ),
);

/** The report members as a schema (OpenAPI), with each aggregate's description. */
export const campaignBreakdownsSchema = z.object(
  Object.fromEntries(
    aggregateList.map((a) => {
      const schema = a.single ? z.int() : z.record(z.string(), z.number());
      z.globalRegistry.add(schema, { description: a.description });
      return [a.member, schema];
    }),
  ),
);

// ---- experiment counters -------------------------------------------------------------------

/**
 * Experiment result counters per variant: distinct persons exposed, and distinct persons who
 * reached the goal after their first exposure. Distinctness comes from the person's state (the
 * consumer emits each effect once per person), so these are plain counts.
 */
export const experimentAggregates = {
  exposures: { attribute: 'exposures', description: 'Distinct persons exposed' },
  conversions: {
    attribute: 'conversions',
    description: 'Distinct persons who reached the goal after their first exposure',
  },
} as const;

export type ExperimentEffectKind = keyof typeof experimentAggregates;

export interface VariantCounts {
  exposures: number;
  conversions: number;
}

/** A variant counter item's counts. */
export const variantCounts = (item: Record<string, unknown>): VariantCounts => {
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    exposures: count(item[experimentAggregates.exposures.attribute]),
    conversions: count(item[experimentAggregates.conversions.attribute]),
  };
};
