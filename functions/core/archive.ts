/**
 * The archive's row: one canonical event as a flat Parquet row, the same columns in S3 (Firehose's
 * record format conversion against the Glue table) and locally (DuckDB). Pure.
 *
 * Columns are an explicit list, so nothing reaches the archive by accident: the envelope has no
 * IP address (ingest never puts one on the stream) and its properties were minimised at ingest
 * (`functions/core/pii.ts`). Times are kept twice: the ISO text as sent (round-trips exactly to
 * the envelope) and epoch milliseconds (`*_ms`, bigint) that both Trino and DuckDB compute with
 * the same way, where their timestamp types and functions differ.
 *
 * Layout: `events/dt=YYYY-MM-DD/hour=HH/<file>.parquet`, by the event's skew-corrected time (UTC),
 * Hive-style, so Athena's partition projection and DuckDB's `hive_partitioning` read it alike.
 */
import type { CanonicalEvent, CanonicalType, Channel, DeviceType, Door } from './events';
import { ENVELOPE_VERSION } from './events';

/** Glue/Hive column types: `string` and `bigint` are all the archive needs. */
export type ArchiveColumnType = 'string' | 'bigint';

export const ARCHIVE_COLUMNS = [
  { name: 'event_id', type: 'string' },
  { name: 'type', type: 'string' },
  { name: 'person_key', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'anonymous_id', type: 'string' },
  { name: 'campaign_id', type: 'string' },
  { name: 'experiment_id', type: 'string' },
  { name: 'variant', type: 'string' },
  { name: 'channel', type: 'string' },
  { name: 'device_type', type: 'string' },
  { name: 'event_name', type: 'string' },
  { name: 'event_time', type: 'string' },
  { name: 'event_ms', type: 'bigint' },
  { name: 'received_at', type: 'string' },
  { name: 'received_ms', type: 'bigint' },
  { name: 'device_time', type: 'string' },
  { name: 'sent_at', type: 'string' },
  { name: 'source_id', type: 'string' },
  { name: 'door', type: 'string' },
  { name: 'data', type: 'string' },
  { name: 'properties', type: 'string' },
] as const satisfies readonly { name: string; type: ArchiveColumnType }[];

/** Partition columns, in path order. */
export const ARCHIVE_PARTITIONS = ['dt', 'hour'] as const;

/** Where the events live under the archive bucket (and the local archive folder). */
export const ARCHIVE_EVENTS_PREFIX = 'events/';

export type ArchiveColumn = (typeof ARCHIVE_COLUMNS)[number]['name'];

export type ArchiveRow = {
  [C in (typeof ARCHIVE_COLUMNS)[number] as C['name']]: C['type'] extends 'bigint' ? number : string | null;
};

export interface ArchivePartition {
  dt: string;
  hour: string;
}

const orNull = (v: string | undefined): string | null => v ?? null;

/** The event → its archive row. */
export const archiveRow = (e: CanonicalEvent): ArchiveRow => ({
  event_id: e.eventId,
  type: e.type,
  person_key: e.personKey,
  user_id: orNull(e.userId),
  anonymous_id: orNull(e.anonymousId),
  campaign_id: orNull(e.campaignId),
  experiment_id: orNull(e.experimentId),
  variant: orNull(e.variant),
  channel: orNull(e.channel),
  device_type: e.deviceType,
  // A custom event's name (Segment `track` names land here too): what funnels and paths match on.
  event_name: typeof e.data.name === 'string' ? e.data.name : null,
  event_time: e.eventTime,
  event_ms: Date.parse(e.eventTime),
  received_at: e.receivedAt,
  received_ms: Date.parse(e.receivedAt),
  device_time: e.timestamp,
  sent_at: orNull(e.sentAt),
  source_id: e.sourceId,
  door: e.door,
  data: JSON.stringify(e.data),
  properties: JSON.stringify(e.properties),
});

/** The partition a row lands in: its event time's UTC date and hour. */
export const partitionOf = (row: Pick<ArchiveRow, 'event_ms'>): ArchivePartition => {
  const iso = new Date(row.event_ms).toISOString();
  return { dt: iso.slice(0, 10), hour: iso.slice(11, 13) };
};

/** `events/dt=…/hour=…/`: the folder (or S3 prefix) of a partition. */
export const partitionPrefix = (p: ArchivePartition): string =>
  `${ARCHIVE_EVENTS_PREFIX}dt=${p.dt}/hour=${p.hour}/`;

const parseJsonObject = (text: unknown): Record<string, unknown> => {
  if (typeof text !== 'string') return {};
  const value: unknown = JSON.parse(text);
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
};

const defined = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));

/** A row read back (any engine: columns by name) → the canonical event it was made from. */
export const canonicalFromRow = (row: Readonly<Record<string, unknown>>): CanonicalEvent => {
  const text = (c: ArchiveColumn) => (row[c] === null || row[c] === undefined ? undefined : String(row[c]));
  return {
    v: ENVELOPE_VERSION,
    ...(defined({
      eventId: text('event_id'),
      type: text('type') as CanonicalType,
      personKey: text('person_key'),
      userId: text('user_id'),
      anonymousId: text('anonymous_id'),
      campaignId: text('campaign_id'),
      experimentId: text('experiment_id'),
      variant: text('variant'),
      channel: text('channel') as Channel | undefined,
      deviceType: text('device_type') as DeviceType,
      data: parseJsonObject(row.data),
      properties: parseJsonObject(row.properties),
      timestamp: text('device_time'),
      sentAt: text('sent_at'),
      receivedAt: text('received_at'),
      eventTime: text('event_time'),
      sourceId: text('source_id'),
      door: text('door') as Door,
    }) as Omit<CanonicalEvent, 'v'>),
  };
};

// ---- SQL over the archive (Athena and DuckDB alike) ---------------------------------------------

/** A string literal: quotes doubled (inputs are also validated printable text). */
export const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

const inList = (values: readonly string[]) => values.map(lit).join(', ');

/**
 * Rows of any of these ids, whatever the person they were archived under. Never NULL (absent ids
 * read as '', which no id is), so `NOT personFilter(…)` keeps every other row.
 */
export const personFilter = (ids: readonly string[]): string =>
  `(coalesce(user_id, '') IN (${inList(ids)}) OR coalesce(anonymous_id, '') IN (${inList(ids)}) OR person_key IN (${inList(ids)}))`;

export interface ArchiveSelection {
  /** Inclusive UTC dates (YYYY-MM-DD). */
  from: string;
  to: string;
  types?: readonly string[];
  /** Only rows of these person ids. */
  ids?: readonly string[];
  /** Oldest first (Athena's UNLOAD takes no ORDER BY: exports leave it out). */
  ordered?: boolean;
}

/**
 * Every archived event of a selection once (the archive is at least once), oldest first, with its
 * partition: exports, the person's export, and the archive reader run it.
 */
export const archiveSelectSql = (source: string, s: ArchiveSelection): string => {
  const where = [
    `dt BETWEEN ${lit(s.from)} AND ${lit(s.to)}`,
    ...(s.types && s.types.length > 0 ? [`type IN (${inList(s.types)})`] : []),
    ...(s.ids ? [personFilter(s.ids)] : []),
  ].join(' AND ');
  const columns = ARCHIVE_COLUMNS.map((c) => c.name).join(', ');
  return `SELECT ${columns}, dt, hour FROM (
  SELECT ${columns}, dt, hour,
         row_number() OVER (PARTITION BY event_id, coalesce(user_id, anonymous_id) ORDER BY received_ms) AS copy
  FROM ${source} WHERE ${where}
) once WHERE copy = 1${s.ordered === false ? '' : '\nORDER BY event_ms, event_id'}`;
};
