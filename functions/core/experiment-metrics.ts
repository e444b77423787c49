/**
 * Per-person experiment metrics as the stream consumer folds them, and the per-arm sufficient
 * statistics they add up to. Pure.
 *
 * Each exposed person carries, per metric, their value y (and a ratio's denominator z) and the
 * CUPED covariate x: their count of the metric's event type over the CUPED_DAYS whole days before
 * the day of their first exposure (the daily counts Pulse keeps per person). Every change of a
 * person's values is a delta of the arm's sums — n comes from the exposure count — so the counter
 * items hold, per metric `<id>`:
 *
 * | attribute     | sum over the arm's persons |
 * |---------------|----------------------------|
 * | `m_<id>_s`    | Σy                         |
 * | `m_<id>_q`    | Σy²                        |
 * | `m_<id>_x`    | Σx                         |
 * | `m_<id>_xx`   | Σx²                        |
 * | `m_<id>_xy`   | Σxy                        |
 * | `m_<id>_z`    | Σz (ratio)                 |
 * | `m_<id>_zz`   | Σz² (ratio)                |
 * | `m_<id>_yz`   | Σyz (ratio)                |
 *
 * y changes by d: Σy += d, Σy² += 2yd + d², Σxy += xd, Σyz += zd (and symmetrically for z).
 */
import type { Metric } from './experiment-design';
import type { Moments } from './metric-stats';

/** Whole days before the exposure day whose counts make the covariate. */
export const CUPED_DAYS = 28;

export const metricAttribute = (metricId: string, stat: 's' | 'q' | 'x' | 'xx' | 'xy' | 'z' | 'zz' | 'yz') =>
  `m_${metricId}_${stat}`;

export interface MetricEvent {
  type: string;
  data: Record<string, unknown>;
}

const matches = (ref: { type: string; name?: string | undefined }, e: MetricEvent) =>
  e.type === ref.type && (ref.name === undefined || e.data.name === ref.name);

const valueIn = (e: MetricEvent, currency: string | undefined): number =>
  typeof e.data.value === 'number' && (e.data.currency ?? 'XXX') === currency ? e.data.value : 0;

/**
 * How much an event moves a person's metric: the numerator by dy, a ratio's denominator by dz.
 * `y` is the person's current value (a conversion moves from 0 to 1 once).
 */
export const metricDelta = (m: Metric, e: MetricEvent, y: number): { dy: number; dz: number } => {
  let dy = 0;
  if (matches(m.event, e))
    if (m.kind === 'conversion') dy = y === 0 ? 1 : 0;
    else if (m.kind === 'count') dy = 1;
    else if (m.kind === 'value') dy = valueIn(e, m.currency);
    else dy = m.currency === undefined ? 1 : valueIn(e, m.currency);
  let dz = 0;
  if (m.kind === 'ratio' && m.denominator && matches(m.denominator.event, e))
    dz = m.denominator.measure === 'count' ? 1 : valueIn(e, m.denominator.currency);
  return { dy, dz };
};

/** The covariate: the person's count of the metric's event type on the days before exposure. */
export const covariate = (
  m: Metric,
  days: Readonly<Record<string, Readonly<Record<string, number>>>>,
  exposedAt: string,
): number => {
  const exposureDay = Date.parse(`${exposedAt.slice(0, 10)}T00:00:00Z`);
  let x = 0;
  for (let i = 1; i <= CUPED_DAYS; i++) {
    const day = new Date(exposureDay - i * 86_400_000).toISOString().slice(0, 10);
    x += days[day]?.[m.event.type] ?? 0;
  }
  return x;
};

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** A person's values per metric: y, a ratio's z, and the covariate x. */
export interface PersonMetric {
  y: number;
  z?: number;
  x?: number;
}

/** The counter fields of a person's first exposure: their covariates. */
export const exposureFields = (pre: Readonly<Record<string, number>>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [id, x] of Object.entries(pre)) {
    out[metricAttribute(id, 'x')] = x;
    out[metricAttribute(id, 'xx')] = x * x;
  }
  return out;
};

/**
 * Apply an event to a person's metrics (mutating `values`); the counter fields it adds, or
 * undefined when it moves none.
 */
export const applyMetricEvent = (
  metrics: readonly Metric[],
  values: Record<string, PersonMetric>,
  pre: Readonly<Record<string, number>>,
  e: MetricEvent,
): Record<string, number> | undefined => {
  let out: Record<string, number> | undefined;
  for (const m of metrics) {
    const v = values[m.id] ?? { y: 0 };
    const { dy, dz } = metricDelta(m, e, v.y);
    if (dy === 0 && dz === 0) continue;
    out ??= {};
    const x = pre[m.id] ?? 0;
    const z = v.z ?? 0;
    if (dy !== 0) {
      out[metricAttribute(m.id, 's')] = round(dy);
      out[metricAttribute(m.id, 'q')] = round(2 * v.y * dy + dy * dy);
      if (x !== 0) out[metricAttribute(m.id, 'xy')] = round(x * dy);
    }
    if (m.kind === 'ratio') {
      if (dz !== 0) {
        out[metricAttribute(m.id, 'z')] = round(dz);
        out[metricAttribute(m.id, 'zz')] = round(2 * z * dz + dz * dz);
      }
      const dyz = v.y * dz + z * dy + dy * dz;
      if (dyz !== 0) out[metricAttribute(m.id, 'yz')] = round(dyz);
    }
    values[m.id] = { y: round(v.y + dy), ...(m.kind === 'ratio' && { z: round(z + dz) }) };
  }
  return out;
};

/** An arm's moments of one metric from its counter attributes (n: the arm's exposures). */
export const momentsFromCounters = (
  m: Pick<Metric, 'id' | 'kind'>,
  n: number,
  counters: Readonly<Record<string, number>>,
  withCovariate: boolean,
): Moments => {
  const get = (stat: Parameters<typeof metricAttribute>[1]) => counters[metricAttribute(m.id, stat)] ?? 0;
  return {
    n,
    sum: get('s'),
    sumSq: get('q'),
    ...(withCovariate && { xSum: get('x'), xSumSq: get('xx'), xySum: get('xy') }),
    ...(m.kind === 'ratio' && { zSum: get('z'), zSumSq: get('zz'), yzSum: get('yz') }),
  };
};
