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

/** The bucket a quarter belongs to: its UTC hour, or its local day in `tz`. */
export const bucketOfQuarter = (quarter: string, granularity: 'hour' | 'day', tz: string): string =>
  granularity === 'hour' ? `${quarter.slice(0, 13)}:00` : localDate(quarterStartMs(quarter), tz);
