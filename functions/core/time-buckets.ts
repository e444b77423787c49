/**
 * Time buckets. Counters are kept per UTC quarter-hour: every IANA zone's offset is a multiple
 * of 15 minutes, so hour series (UTC) and local-day series (any `tz`) are exact sums of
 * quarters. Pure.
 */

export const QUARTER_MS = 15 * 60 * 1000;

/** `2026-06-01T10:45` — the UTC quarter-hour an instant falls in. */
export const quarterOf = (iso: string | Date): string => {
  const t = typeof iso === 'string' ? Date.parse(iso) : iso.getTime();
  return new Date(t - (((t % QUARTER_MS) + QUARTER_MS) % QUARTER_MS)).toISOString().slice(0, 16);
};

export const quarterStartMs = (quarter: string): number => Date.parse(`${quarter}:00.000Z`);

/** Every quarter in [fromMs, toMs), in order. */
export const quartersBetween = (fromMs: number, toMs: number): string[] => {
  const out: string[] = [];
  for (let t = Date.parse(`${quarterOf(new Date(fromMs))}:00.000Z`); t < toMs; t += QUARTER_MS)
    out.push(new Date(t).toISOString().slice(0, 16));
  return out;
};

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Is `tz` a zone this runtime knows? */
export const isTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** Local calendar date (`YYYY-MM-DD`) of an instant in an IANA zone. */
export const localDate = (ms: number, tz: string): string => {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(tz, f);
  }
  return f.format(ms);
};

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

/** Local wall-clock time (`YYYY-MM-DDTHH:mm:ss`) of an instant in an IANA zone. */
const localWall = (ms: number, tz: string): string => {
  let f = wallFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    wallFormatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
};

/** Local date and hour (`YYYY-MM-DDTHH`) of an instant in an IANA zone. */
export const localHour = (ms: number, tz: string): string => localWall(ms, tz).slice(0, 13);

/**
 * The bucket a quarter belongs to: its local hour (`YYYY-MM-DDTHH`) or local day (`YYYY-MM-DD`)
 * in `tz`. Every zone's offset is a multiple of 15 minutes, so a local hour is whole quarters
 * even where it starts at :30 or :45 UTC (India, Nepal).
 */
export const bucketOfQuarter = (quarter: string, granularity: 'hour' | 'day', tz: string): string =>
  granularity === 'hour' ? localHour(quarterStartMs(quarter), tz) : localDate(quarterStartMs(quarter), tz);

/** `+05:30`, `-03:00`, or `Z`: the zone's offset at an instant, from the local wall-clock time. */
const offsetAt = (ms: number, tz: string): string => {
  const wall = Date.parse(`${localWall(ms, tz)}Z`);
  const minutes = Math.round((wall - ms) / 60_000);
  if (minutes === 0) return 'Z';
  const abs = Math.abs(minutes);
  return `${minutes > 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/** The first instant (ms) of a local bucket (`YYYY-MM-DD` or `YYYY-MM-DDTHH`) in `tz`. */
export const localBucketStartMs = (bucket: string, tz: string): number => {
  const hourly = bucket.length > 10;
  const nominal = Date.parse(hourly ? `${bucket}:00:00Z` : `${bucket}T00:00:00Z`);
  // Zones are within ±15 h of UTC: search that window, on the quarter grid, for the first instant
  // that falls in the bucket (a day that starts at 01:00 after a DST jump is found too).
  for (let t = nominal - 15 * 3600_000; t <= nominal + 15 * 3600_000; t += QUARTER_MS) {
    const local = hourly ? localHour(t, tz) : localDate(t, tz);
    if (local === bucket) return t;
  }
  return nominal;
};

/** The offset-qualified instant a local bucket starts at, e.g. `2026-06-01T10:00:00+05:30`. */
export const localBucketStart = (bucket: string, tz: string): string => {
  const ms = localBucketStartMs(bucket, tz);
  const wall = bucket.length > 10 ? `${bucket}:00:00` : `${bucket}T00:00:00`;
  const offset = offsetAt(ms, tz);
  // The wall clock of the first instant (a DST gap can move it past the bucket's nominal start).
  const shown = offset === 'Z' ? new Date(ms).toISOString().slice(0, 19) : wall;
  return `${shown}${offset}`;
};
