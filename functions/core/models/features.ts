/**
 * Features of a person as of a day, from what the person item keeps (functions/core/person.ts):
 * the daily counts by type (the last DAILY_WINDOW_DAYS days), lifetime counts, first-seen time,
 * conversions and experiment exposures. Pure.
 *
 * Every feature is computed "as of" a cut-off day D from data stamped on or before D, so the same
 * function gives the training rows (D = today − horizon, the label from the days after D) and the
 * scoring rows (D = today) — a time split with no leakage. What the person item does not keep by
 * time (the channel list, campaign last-seen times, conversion value) would leak the label
 * (a conversion after D adds its channel and value), so it is not a feature.
 *
 * Counts enter as log1p (a heavy tail of very active ids would otherwise dominate the fit).
 */
import { EVENT_TYPES } from '../events';
import { DAILY_WINDOW_DAYS, type PersonStats } from '../person';

export const DAY_MS = 86_400_000;
export const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);
const dayOfKey = (key: string): number => dayNumber(Date.parse(`${key}T00:00:00.000Z`));

/** Event types that count as engagement (identify and exposure never reach the daily counts). */
export const ENGAGEMENT_TYPES = EVENT_TYPES;
/** The longest window a feature reads: with a 30-day horizon, D − 56 stays inside the daily history. */
export const FEATURE_LOOKBACK_DAYS = 56;
export const MAX_HORIZON_DAYS = DAILY_WINDOW_DAYS - FEATURE_LOOKBACK_DAYS - 4;
/** "Active" for at-risk: any event in the 28 days up to the day. */
export const ACTIVE_WINDOW_DAYS = 28;
const MAX_TENURE_DAYS = 3650;

export const FEATURE_NAMES: readonly string[] = [
  'active_days_7',
  'active_days_28',
  'events_7',
  'events_28',
  'events_56',
  ...ENGAGEMENT_TYPES.flatMap((t) => [`${t}_7`, `${t}_28`]),
  'trend_14',
  'days_since_active',
  'tenure_days',
  'lifetime_events',
  'lifetime_conversions',
  'experiments_exposed',
];

/** A person's daily counts by day number, read once. */
export interface History {
  /** Day number → counts by type. */
  days: Map<number, Record<string, number>>;
  firstDay: number | undefined;
  lifetimeEvents: number;
  lifetimeConversions: number;
  exposureDays: number[];
}

export const historyOf = (stats: PersonStats): History => {
  const days = new Map<number, Record<string, number>>();
  for (const [key, counts] of Object.entries(stats.days)) {
    const d = dayOfKey(key);
    if (!Number.isNaN(d)) days.set(d, counts);
  }
  return {
    days,
    firstDay: stats.firstSeen ? dayNumber(Date.parse(stats.firstSeen)) : undefined,
    lifetimeEvents: Object.values(stats.counts).reduce((a, b) => a + b, 0),
    lifetimeConversions: stats.conversions.count,
    exposureDays: Object.values(stats.experiments).map((x) => dayNumber(Date.parse(x.exposedAt))),
  };
};

const total = (counts: Record<string, number>): number => {
  let n = 0;
  for (const k in counts) n += counts[k] as number;
  return n;
};

/** Events of `type` ('any': every type) on days in [from, to]. */
export const countIn = (h: History, type: string, from: number, to: number): number => {
  let n = 0;
  for (const [d, counts] of h.days)
    if (d >= from && d <= to) n += type === 'any' ? total(counts) : (counts[type] ?? 0);
  return n;
};

/** Did the person exist on day D (first seen on or before it)? */
export const existedOn = (h: History, day: number): boolean => h.firstDay !== undefined && h.firstDay <= day;

/** Features as of the end of day D (see FEATURE_NAMES for the order), in one pass over the days. */
export const featuresAt = (h: History, day: number): Float64Array => {
  const types = ENGAGEMENT_TYPES.length;
  const by7 = new Float64Array(types);
  const by28 = new Float64Array(types);
  let active7 = 0;
  let active28 = 0;
  let events7 = 0;
  let events28 = 0;
  let events56 = 0;
  let recent = 0;
  let prior = 0;
  let lastActive: number | undefined;
  let eventsAfter = 0;
  let conversionsAfter = 0;
  for (const [d, counts] of h.days) {
    const n = total(counts);
    if (d > day) {
      eventsAfter += n;
      conversionsAfter += counts.conversion ?? 0;
      continue;
    }
    const age = day - d;
    if (age >= FEATURE_LOOKBACK_DAYS || n === 0) continue;
    events56 += n;
    if (lastActive === undefined || d > lastActive) lastActive = d;
    if (age < 14) recent += n;
    else if (age < 28) prior += n;
    if (age >= 28) continue;
    events28 += n;
    active28++;
    for (let t = 0; t < types; t++)
      by28[t] = (by28[t] as number) + (counts[ENGAGEMENT_TYPES[t] as string] ?? 0);
    if (age >= 7) continue;
    events7 += n;
    active7++;
    for (let t = 0; t < types; t++)
      by7[t] = (by7[t] as number) + (counts[ENGAGEMENT_TYPES[t] as string] ?? 0);
  }
  const out = new Float64Array(FEATURE_NAMES.length);
  let k = 0;
  out[k++] = active7;
  out[k++] = active28;
  out[k++] = Math.log1p(events7);
  out[k++] = Math.log1p(events28);
  out[k++] = Math.log1p(events56);
  for (let t = 0; t < types; t++) {
    out[k++] = Math.log1p(by7[t] as number);
    out[k++] = Math.log1p(by28[t] as number);
  }
  out[k++] = (recent - prior) / (recent + prior + 1);
  out[k++] = Math.log1p(lastActive === undefined ? FEATURE_LOOKBACK_DAYS : day - lastActive);
  out[k++] = Math.log1p(
    h.firstDay === undefined ? 0 : Math.min(Math.max(day - h.firstDay, 0), MAX_TENURE_DAYS),
  );
  out[k++] = Math.log1p(Math.max(h.lifetimeEvents - eventsAfter, 0));
  out[k++] = Math.log1p(Math.max(h.lifetimeConversions - conversionsAfter, 0));
  out[k++] = h.exposureDays.filter((d) => d <= day).length;
  return out;
};
