/**
 * The rows one person contributes to a model run: a training row (features as of the cut-off,
 * the label from the horizon after it) and a current row (features as of today, for the
 * population's score distribution). Pure.
 */
import type { PersonStats } from '../person';
import type { ModelDefinition } from './definition';
import { ACTIVE_WINDOW_DAYS, countIn, existedOn, featuresAt, type History, historyOf } from './features';

export interface TrainingRow {
  x: Float64Array;
  y: 0 | 1;
}

export interface PersonRows {
  training?: TrainingRow;
  current?: Float64Array;
}

/** Engagement's raw values: days since last seen, events in 56 days, lifetime conversions. */
export const RFM_NAMES = ['recency_days', 'frequency_56', 'monetary_conversions'] as const;
export const rfmOf = (stats: PersonStats, h: History, today: number): Float64Array | undefined => {
  if (!stats.lastSeen) return undefined;
  const last = Math.floor(Date.parse(stats.lastSeen) / 86_400_000);
  return Float64Array.of(
    Math.max(today - last, 0),
    countIn(h, 'any', today - 55, today),
    stats.conversions.count,
  );
};

/** Is the person active (any event in the 28 days up to `day`): who at-risk judges. */
export const activeOn = (h: History, day: number): boolean =>
  countIn(h, 'any', day - ACTIVE_WINDOW_DAYS + 1, day) > 0;

/**
 * `today` is the UTC day number now: the current row reads every day up to it (as scoring does);
 * the label window is the horizon ending with the last complete day (today − 1), and the training
 * features are as of the day before that window. A profile merged into its user has no rows (the
 * user's profile holds its history).
 */
export const rowsOf = (def: ModelDefinition, stats: PersonStats, today: number): PersonRows => {
  if (stats.mergedInto) return {};
  const h = historyOf(stats);
  if (def.kind === 'engagement') {
    const current = rfmOf(stats, h, today);
    return current ? { current } : {};
  }
  const complete = today - 1;
  const cutoff = complete - def.horizonDays;
  const out: PersonRows = {};
  const eligible = (day: number) => existedOn(h, day) && (def.kind === 'propensity' || activeOn(h, day));
  if (eligible(cutoff)) {
    const later =
      def.kind === 'propensity'
        ? countIn(h, def.target?.type ?? 'any', cutoff + 1, complete)
        : countIn(h, 'any', cutoff + 1, complete);
    const y = def.kind === 'propensity' ? (later > 0 ? 1 : 0) : later === 0 ? 1 : 0;
    out.training = { x: featuresAt(h, cutoff), y };
  }
  if (eligible(today)) out.current = featuresAt(h, today);
  return out;
};
