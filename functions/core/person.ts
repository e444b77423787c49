/**
 * Per-person read model: stats that profiles, segment rules and scoring read, and the dedup
 * state that makes client retries count once. Pure: repositories load and store it.
 *
 * Dedup lives in the person item because every copy of an event carries the same person key,
 * so it always meets the same item — an item the batch writes anyway. Each entry is the
 * event id's hash plus a tag of the stream record that first carried it, which tells a
 * redelivery of that record (count it wherever it is not yet applied) from a client retry
 * (a different record: never count it).
 */
import { createHash } from 'node:crypto';
import {
  applyTouch,
  type BotPolicy,
  type BotReason,
  creditedEffects,
  judgeBot,
  mergeTouches,
  type PersonEdge,
  type TouchEffect,
  touchEffects,
  wasBot,
} from './edge/person-edge';
import type { CanonicalEvent } from './events';
import type { Metric } from './experiment-design';
import { applyMetricEvent, covariate, exposureFields, type PersonMetric } from './experiment-metrics';
import { boundExperiments, isSettled, mergeSettled } from './experiment-states';
import { meetsGoal } from './experiments';
import type { PersonScore } from './models/definition';
import { applyTraitChanges, mergeTraits, type TraitEntry } from './traits';

/** Client retries are recognised for this long after the first copy was received (Amplitude's 7 days). */
export const DEDUP_WINDOW_DAYS = 7;
/** The longest a segment rule may look back over daily counts. */
export const DAILY_WINDOW_DAYS = 90;
/** Campaigns remembered per person (most recent). */
export const MAX_CAMPAIGNS = 100;

const ID_BYTES = 8;
const TAG_BYTES = 4;
const ENTRY_BYTES = ID_BYTES + TAG_BYTES;

export interface PersonStats {
  personKey: string;
  firstSeen?: string;
  lastSeen?: string;
  counts: Record<string, number>;
  /** Daily counts by type, by skew-corrected UTC day, over the last DAILY_WINDOW_DAYS. */
  days: Record<string, Record<string, number>>;
  channels: string[];
  /** campaignId → last seen. */
  campaigns: Record<string, string>;
  conversions: { count: number; value: Record<string, number> };
  /** Received day → concatenated (id hash, record tag) entries: the recent ones, inline. */
  dedup: Record<string, Uint8Array>;
  /**
   * Older dedup entries, sealed into pages of their own once the inline ones pass
   * INLINE_DEDUP_MAX (a very active id: a bot, a kiosk, a server with a fixed id): the item stays
   * bounded, however many events the id sends in the dedup window.
   */
  dedupPages: DedupPageRef[];
  /** Shard id → padded sequence number of the last record applied to this item. */
  checkpoints: Record<string, string>;
  /** Experiment id → the first exposure (variant, time, record tag) and the converting record. */
  experiments: Record<string, ExperimentState>;
  /** Experiments whose state settled: 8-byte id hashes (experiment-states.ts bounds both). */
  settledExperiments: Uint8Array;
  /**
   * Anonymous ids whose profiles were folded into this one and not yet marked `folded` on their
   * own item (a merge is applied once): an id leaves the list once its item says so, so the list
   * stays as short as the merges in progress, however many devices a person links.
   */
  merged: string[];
  /** Set on an anonymous profile once merged: it is frozen, its events go to this person. */
  mergedInto?: string;
  /** Set on a frozen anonymous profile once its user's profile holds what it had. */
  folded?: boolean;
  /** Model name → the person's score by its published version (functions/core/models/*). */
  scores?: Record<string, PersonScore>;
  /** Clean data at the edge: event rate, bot flag, first and last touch (core/edge/person-edge.ts). */
  edge?: PersonEdge;
  /** Declared traits (functions/core/traits.ts): value and time set, by trait name. */
  traits?: Record<string, TraitEntry>;
}

/** A sealed page of dedup entries: whose partition holds it, its id, and its newest received day. */
export interface DedupPageRef {
  owner: string;
  page: string;
  lastDay: string;
}

/**
 * Inline dedup entries a person item keeps before they are sealed into a page: 2,000 × 12 bytes,
 * 24 KB — the item stays far below DynamoDB's 400 KB and each batch's write stays small (a write
 * is billed by the item's size), while a page is written once, whole, and never again.
 */
export const INLINE_DEDUP_MAX = 2000;

export interface ExperimentState {
  variant: string;
  /** The goal as the exposure stated it (goals are frozen once an experiment starts). */
  goal?: Goal;
  exposedAt: string;
  /** Tag of the record that exposed: a redelivery of it re-derives the exposure effect. */
  exposedBy: string;
  convertedBy?: string;
  /** When the conversion was applied (received): the state settles a dedup window later. */
  convertedAt?: string;
  // experiments v2: metrics beyond the goal, with CUPED covariates (experiment-metrics.ts)
  /** Metric id → the covariate at first exposure. */
  pre?: Record<string, number>;
  /** Metric id → the person's values since exposure. */
  values?: Record<string, PersonMetric>;
  /**
   * The counter fields of the records that moved the metrics, kept until a batch starts past
   * them (then the counters hold them for sure): a redelivered record re-derives its fields here.
   */
  log?: MetricLogEntry[];
}

export interface MetricLogEntry {
  by: string;
  shard: string;
  /** Sequence number without its padding. */
  seq: string;
  fields: Record<string, number>;
}

/** What an experiment counts as its goal. */
export interface Goal {
  type: string;
  name?: string;
}

/**
 * Counter effects of a record beyond its own fields: experiment exposures, conversions and metric
 * sums, and a conversion's credit to the campaigns that first and last touched the person.
 */
export type Effect = ExperimentEffect | TouchEffect;
export interface ExperimentEffect {
  kind: 'exposure' | 'conversion' | 'metric';
  experimentId: string;
  variant: string;
  /** Counter fields beyond the kind's own count: covariates at exposure, metric sums. */
  fields?: Record<string, number>;
}

/**
 * A map keyed by client data (campaign ids, currencies, experiment ids, event types): without
 * a prototype, `__proto__` and `constructor` are keys like any other, neither swallowed by
 * Object.prototype's setter nor read from it. Every map of PersonStats is one.
 */
export const dict = <T>(from?: Readonly<Record<string, T>>): Record<string, T> => {
  const out = Object.create(null) as Record<string, T>;
  if (from) for (const key of Object.keys(from)) out[key] = from[key] as T;
  return out;
};

/**
 * The same stats with every map a dict: what the fold works on (structuredClone gives plain
 * objects back, where writing a `__proto__` key would change the prototype instead).
 */
const withDicts = (stats: PersonStats): PersonStats => {
  const days = dict<Record<string, number>>();
  for (const day of Object.keys(stats.days)) days[day] = dict(stats.days[day]);
  return {
    ...stats,
    counts: dict(stats.counts),
    days,
    campaigns: dict(stats.campaigns),
    conversions: { count: stats.conversions.count, value: dict(stats.conversions.value) },
    dedup: dict(stats.dedup),
    checkpoints: dict(stats.checkpoints),
    experiments: dict(stats.experiments),
    ...(stats.traits && { traits: dict(stats.traits) }),
  };
};

const clonePerson = (stats: PersonStats): PersonStats => withDicts(structuredClone(stats));

export const emptyPerson = (personKey: string): PersonStats => ({
  personKey,
  counts: dict(),
  days: dict(),
  channels: [],
  campaigns: dict(),
  conversions: { count: 0, value: dict() },
  dedup: dict(),
  dedupPages: [],
  checkpoints: dict(),
  experiments: dict(),
  settledExperiments: new Uint8Array(),
  merged: [],
});

/** Kinesis sequence numbers are up to 56 digits: compare them as fixed-width strings. */
export const padSequence = (sequenceNumber: string): string => sequenceNumber.padStart(64, '0');

const idHash = (eventId: string) => createHash('sha256').update(eventId).digest().subarray(0, ID_BYTES);
const recordTag = (shardId: string, seq: string) =>
  createHash('sha256').update(shardId).update(seq).digest().subarray(0, TAG_BYTES);

export interface StreamEvent {
  shardId: string;
  /** Padded sequence number. */
  seq: string;
  event: CanonicalEvent;
  /** The anonymous id an event was re-aimed from, when identity resolution moved it to its user. */
  via?: string;
}

/**
 * `new`: first copy, applied now; `replay`: first copy, already applied to this person (a
 * redelivery) — still counted wherever an item has not seen it; `duplicate`: a client retry.
 */
export type Verdict = 'new' | 'replay' | 'duplicate';

/** Dedup entries by id hash (hex) → record tag (hex). */
export const entriesOf = (dedup: Record<string, Uint8Array>): Map<string, string> => {
  const out = new Map<string, string>();
  for (const bytes of Object.values(dedup))
    for (let i = 0; i + ENTRY_BYTES <= bytes.byteLength; i += ENTRY_BYTES) {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset + i, ENTRY_BYTES);
      out.set(b.subarray(0, ID_BYTES).toString('hex'), b.subarray(ID_BYTES).toString('hex'));
    }
  return out;
};

const dayMs = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface JudgeOptions {
  /** Experiment goals by experiment id (for conversions). */
  goals?: ReadonlyMap<string, Goal>;
  /** Dedup state of anonymous profiles merged into this one but not folded in yet. */
  extraDedup?: readonly Record<string, Uint8Array>[];
  /** The record tag a sealed dedup page holds for an id hash (hex), if any. */
  sealed?: (idHex: string) => string | undefined;
  /** experiments v2: each experiment's metrics (primary, secondary, guardrails), by id. */
  metrics?: ReadonlyMap<string, readonly Metric[]>;
  /** When an id's event rate makes it a bot (core/edge/person-edge.ts). */
  bots?: BotPolicy;
}

/**
 * Judge a person's records (in stream order) against the stored state and apply the ones
 * this item has not seen. Returns each record's verdict (a redelivered record keeps its
 * first verdict), its experiment effects (re-derived from the stored record tags on a
 * redelivery), and the next state (undefined when nothing changed).
 */
export const judgeAndApply = (
  stored: PersonStats,
  records: readonly StreamEvent[],
  now: Date,
  options: JudgeOptions = {},
): {
  verdicts: Verdict[];
  effects: Effect[][];
  /** Per record: a bot's (kept out of every count but the bot counter), and why. */
  bots: (BotReason | undefined)[];
  next: PersonStats | undefined;
} => {
  const known = entriesOf(stored.dedup);
  for (const extra of options.extraDedup ?? [])
    for (const [id, tag] of entriesOf(extra)) if (!known.has(id)) known.set(id, tag);
  const next = clonePerson(stored);
  pruneMetricLogs(next, records);
  const fresh: Buffer[] = [];
  const effects: Effect[][] = [];
  const bots: (BotReason | undefined)[] = [];
  let changed = false;
  const verdicts = records.map((r): Verdict => {
    bots.push(undefined);
    const id = idHash(r.event.eventId).toString('hex');
    const tag = recordTag(r.shardId, r.seq).toString('hex');
    const applied = (next.checkpoints[r.shardId] ?? '') >= r.seq;
    const firstTag = known.get(id) ?? options.sealed?.(id);
    if (applied) {
      const verdict = firstTag === tag ? 'replay' : 'duplicate';
      const bot = verdict === 'replay' ? wasBot(next, r) : undefined;
      bots[bots.length - 1] = bot;
      effects.push(
        verdict === 'replay' && !bot ? [...recordedEffects(next, tag), ...creditedEffects(next, tag)] : [],
      );
      return verdict;
    }
    next.checkpoints[r.shardId] = r.seq;
    changed = true;
    if (firstTag !== undefined) {
      effects.push([]);
      return 'duplicate';
    }
    known.set(id, tag);
    fresh.push(Buffer.concat([Buffer.from(id, 'hex'), Buffer.from(tag, 'hex')]));
    // A bot's record is kept (deduplicated) but changes no count, segment or experiment.
    const bot = judgeBot(next, r, options.bots);
    bots[bots.length - 1] = bot;
    if (bot) {
      effects.push([]);
      return 'new';
    }
    const touches = touchEffects(next, r.event, tag);
    applyEvent(next, r.event);
    applyTouch(next, r.event);
    effects.push([...applyExperiments(next, r, tag, now.toISOString(), options), ...touches]);
    return 'new';
  });
  if (!changed) return { verdicts, effects, bots, next: undefined };

  // Dedup entries go under today's received day; days past the window drop off.
  const today = dayOf(now.getTime());
  if (fresh.length > 0) next.dedup[today] = Buffer.concat([next.dedup[today] ?? new Uint8Array(), ...fresh]);
  pruneWindows(next, now);
  return { verdicts, effects, bots, next };
};

const pruneWindows = (stats: PersonStats, now: Date) => {
  stats.settledExperiments = boundExperiments(
    stats.experiments,
    stats.settledExperiments,
    now.getTime(),
    DEDUP_WINDOW_DAYS,
  );
  const oldestDedup = dayOf(now.getTime() - DEDUP_WINDOW_DAYS * dayMs);
  for (const day of Object.keys(stats.dedup)) if (day < oldestDedup) delete stats.dedup[day];
  stats.dedupPages = stats.dedupPages.filter((p) => p.lastDay >= oldestDedup);
  const oldestDaily = dayOf(now.getTime() - DAILY_WINDOW_DAYS * dayMs);
  for (const day of Object.keys(stats.days)) if (day < oldestDaily) delete stats.days[day];
};

/** The effects a record had when first applied, from the tags the state keeps. */
const recordedEffects = (stats: PersonStats, tag: string): ExperimentEffect[] =>
  Object.entries(stats.experiments).flatMap(([experimentId, x]) => [
    ...(x.exposedBy === tag ? [exposureEffect(experimentId, x)] : []),
    ...(x.convertedBy === tag ? [{ kind: 'conversion' as const, experimentId, variant: x.variant }] : []),
    ...(x.log ?? [])
      .filter((entry) => entry.by === tag)
      .map((entry) => ({ kind: 'metric' as const, experimentId, variant: x.variant, fields: entry.fields })),
  ]);

const exposureEffect = (experimentId: string, x: ExperimentState): ExperimentEffect => {
  const fields = x.pre ? exposureFields(x.pre) : {};
  return {
    kind: 'exposure',
    experimentId,
    variant: x.variant,
    ...(Object.keys(fields).length > 0 && { fields }),
  };
};

/**
 * A batch that starts at sequence S on a shard means every record before S is fully applied,
 * counters included (the event source mapping resumes from the lowest record not applied): log
 * entries before the person's first record of this batch are no longer needed.
 */
const pruneMetricLogs = (stats: PersonStats, records: readonly StreamEvent[]) => {
  const first = new Map<string, string>();
  for (const r of records) {
    const seq = unpadded(r.seq);
    const known = first.get(r.shardId);
    if (known === undefined || compareSeq(seq, known) < 0) first.set(r.shardId, seq);
  }
  for (const x of Object.values(stats.experiments)) {
    if (!x.log) continue;
    const kept = x.log.filter((e) => {
      const from = first.get(e.shard);
      return from === undefined || compareSeq(e.seq, from) >= 0;
    });
    if (kept.length > 0) x.log = kept;
    else delete x.log;
  }
};

const unpadded = (seq: string) => seq.replace(/^0+(?=\d)/, '');
const compareSeq = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/**
 * Exposures count once per person and experiment (the first one; forced QA exposures never);
 * a conversion counts once, for a goal event after the first exposure.
 */
const applyExperiments = (
  stats: PersonStats,
  record: StreamEvent,
  tag: string,
  receivedAt: string,
  { goals, metrics }: JudgeOptions,
): ExperimentEffect[] => {
  const { event } = record;
  const out: ExperimentEffect[] = [];
  if (event.type === 'exposure') {
    const { experimentId, variant } = event;
    if (
      experimentId &&
      variant &&
      event.data.forced !== true &&
      !stats.experiments[experimentId] &&
      !isSettled(stats.settledExperiments, experimentId)
    ) {
      const goal = asGoal(event.data.goal);
      const pre: Record<string, number> = {};
      for (const m of metrics?.get(experimentId) ?? []) pre[m.id] = covariate(m, stats.days, event.eventTime);
      const state: ExperimentState = {
        variant,
        exposedAt: event.eventTime,
        exposedBy: tag,
        ...(goal && { goal }),
        ...(Object.keys(pre).length > 0 && { pre }),
      };
      stats.experiments[experimentId] = state;
      out.push(exposureEffect(experimentId, state));
    }
    return out;
  }
  for (const [experimentId, x] of Object.entries(stats.experiments)) {
    const measured = metrics?.get(experimentId);
    if (!measured || Date.parse(event.eventTime) + 1000 <= Date.parse(x.exposedAt)) continue;
    const values = { ...x.values };
    const fields = applyMetricEvent(measured, values, x.pre ?? {}, event);
    if (!fields) continue;
    x.values = values;
    x.log = [...(x.log ?? []), { by: tag, shard: record.shardId, seq: unpadded(record.seq), fields }];
    out.push({ kind: 'metric', experimentId, variant: x.variant, fields });
  }
  for (const [experimentId, x] of Object.entries(stats.experiments)) {
    const goal = x.goal ?? goals?.get(experimentId);
    // After the first exposure, give or take the second a client clock may truncate.
    if (!goal || x.convertedBy || Date.parse(event.eventTime) + 1000 <= Date.parse(x.exposedAt)) continue;
    if (!meetsGoal(goal, event)) continue;
    x.convertedBy = tag;
    x.convertedAt = receivedAt;
    out.push({ kind: 'conversion', experimentId, variant: x.variant });
  }
  return out;
};

const asGoal = (value: unknown): Goal | undefined => {
  if (!value || typeof value !== 'object') return undefined;
  const g = value as { type?: unknown; name?: unknown };
  return typeof g.type === 'string'
    ? { type: g.type, ...(typeof g.name === 'string' && { name: g.name }) }
    : undefined;
};

/**
 * Fold a frozen anonymous profile into its user's: counts, days, channels, campaigns,
 * conversions and dedup entries (so client retries of the anonymous events stay duplicates),
 * experiment state the user lacks. Applied once per anonymous id (`merged`).
 */
export const mergeProfiles = (user: PersonStats, anonymous: PersonStats, now: Date): PersonStats => {
  if (user.merged.includes(anonymous.personKey)) return user;
  const next = clonePerson(user);
  next.merged.push(anonymous.personKey);
  if (anonymous.firstSeen && (!next.firstSeen || anonymous.firstSeen < next.firstSeen))
    next.firstSeen = anonymous.firstSeen;
  if (anonymous.lastSeen && (!next.lastSeen || anonymous.lastSeen > next.lastSeen))
    next.lastSeen = anonymous.lastSeen;
  for (const [t, n] of Object.entries(anonymous.counts)) next.counts[t] = (next.counts[t] ?? 0) + n;
  for (const [day, counts] of Object.entries(anonymous.days)) {
    const d = next.days[day] ?? dict();
    for (const [t, n] of Object.entries(counts)) d[t] = (d[t] ?? 0) + n;
    next.days[day] = d;
  }
  for (const c of anonymous.channels) if (!next.channels.includes(c)) next.channels.push(c);
  for (const [c, t] of Object.entries(anonymous.campaigns))
    if (!next.campaigns[c] || t > (next.campaigns[c] as string)) next.campaigns[c] = t;
  next.conversions.count += anonymous.conversions.count;
  for (const [cur, v] of Object.entries(anonymous.conversions.value))
    next.conversions.value[cur] = round2((next.conversions.value[cur] ?? 0) + v);
  for (const [day, bytes] of Object.entries(anonymous.dedup))
    next.dedup[day] = Buffer.concat([next.dedup[day] ?? new Uint8Array(), bytes]);
  for (const ref of anonymous.dedupPages)
    if (!next.dedupPages.some((p) => p.owner === ref.owner && p.page === ref.page)) next.dedupPages.push(ref);
  next.settledExperiments = mergeSettled(next.settledExperiments, anonymous.settledExperiments);
  for (const [x, state] of Object.entries(anonymous.experiments))
    if (!isSettled(next.settledExperiments, x)) next.experiments[x] ??= state;
  mergeTouches(next, anonymous);
  if (anonymous.traits) {
    next.traits ??= dict();
    mergeTraits(next.traits, anonymous.traits);
  }
  pruneWindows(next, now);
  return next;
};

/** Fold one new event into the stats. */
export const applyEvent = (stats: PersonStats, event: CanonicalEvent): void => {
  // Traits ride on identify events (any door: identify, Segment, imports, CRM connectors).
  const traits = event.data.traits;
  if (traits && typeof traits === 'object' && !Array.isArray(traits)) {
    stats.traits ??= dict();
    applyTraitChanges(stats.traits, traits as Record<string, unknown>, event.eventTime);
  }
  // Identify and exposure events are not engagement: they shape identity and experiments.
  if (event.type === 'identify' || event.type === 'exposure') return;
  const t = event.eventTime;
  if (!stats.firstSeen || t < stats.firstSeen) stats.firstSeen = t;
  if (!stats.lastSeen || t > stats.lastSeen) stats.lastSeen = t;
  stats.counts[event.type] = (stats.counts[event.type] ?? 0) + 1;
  const day = t.slice(0, 10);
  const daily = stats.days[day] ?? dict();
  stats.days[day] = daily;
  daily[event.type] = (daily[event.type] ?? 0) + 1;
  if (event.channel && !stats.channels.includes(event.channel)) stats.channels.push(event.channel);
  if (event.campaignId) {
    const previous = stats.campaigns[event.campaignId];
    if (!previous || t > previous) stats.campaigns[event.campaignId] = t;
    const ids = Object.keys(stats.campaigns);
    if (ids.length > MAX_CAMPAIGNS) {
      const oldest = ids.reduce((a, b) =>
        (stats.campaigns[a] as string) <= (stats.campaigns[b] as string) ? a : b,
      );
      delete stats.campaigns[oldest];
    }
  }
  if (event.type === 'conversion') {
    stats.conversions.count++;
    const value = event.data.value;
    if (typeof value === 'number') {
      const currency = typeof event.data.currency === 'string' ? event.data.currency : 'XXX';
      stats.conversions.value[currency] = round2((stats.conversions.value[currency] ?? 0) + value);
    }
  }
};

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Inline dedup entries of a person item. */
export const inlineDedupEntries = (stats: PersonStats): number =>
  Object.values(stats.dedup).reduce((n, bytes) => n + bytes.byteLength / ENTRY_BYTES, 0);

/**
 * Seal the inline dedup entries into a page once there are more than INLINE_DEDUP_MAX: the page
 * (to write first, whole) and the person without them, pointing at it. The page's id is its
 * content's hash, so a retried seal writes the same page. undefined: nothing to seal yet.
 */
export const sealDedup = (
  stats: PersonStats,
): { next: PersonStats; ref: DedupPageRef; page: Record<string, Uint8Array> } | undefined => {
  if (inlineDedupEntries(stats) <= INLINE_DEDUP_MAX) return undefined;
  const days = Object.keys(stats.dedup).sort();
  const hash = createHash('sha256');
  for (const day of days) hash.update(day).update(stats.dedup[day] as Uint8Array);
  const lastDay = days[days.length - 1] as string;
  const ref: DedupPageRef = {
    owner: stats.personKey,
    page: `${lastDay}#${hash.digest('base64url').slice(0, 16)}`,
    lastDay,
  };
  return {
    next: { ...stats, dedup: dict(), dedupPages: [...stats.dedupPages, ref] },
    ref,
    page: stats.dedup,
  };
};
