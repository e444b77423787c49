/**
 * What the consumer keeps per person for clean data: the rate of the id's events (to flag ids
 * that send far faster than a person can), the bot flag, and the person's first-touch and
 * last-touch campaign. Pure; judgeAndApply (functions/core/person.ts) calls these per record.
 *
 * Behaviour: more than `maxEventsPerMinute` events received in one UTC minute flags the id as a
 * bot from that event on (sticky): its later events are kept — they still dedup — but count in
 * no campaign metric, segment or experiment, only in the campaign's bot counter. Earlier events
 * of the same minute stay counted: the flag is decided in stream order, once, so a redelivery
 * judges every record the same way.
 */
import type { CanonicalEvent } from '../events';

/** A campaign that reached the person: by its own campaign id, or attributed from UTM parameters. */
export interface Touch {
  campaignId: string;
  source?: string;
  medium?: string;
  at: string;
}

export interface PersonEdge {
  /** Events received in the current UTC minute (`2026-06-01T10:45`). */
  rate?: { minute: string; n: number };
  /**
   * Flagged a bot by behaviour: since this receipt time and the record that tripped the limit (a
   * request's events share one receipt time), and how many of its events were set aside.
   */
  bot?: { since: string; shardId: string; seq: string; events: number };
  firstTouch?: Touch;
  lastTouch?: Touch;
  /**
   * Record tag of a recent conversion → the campaigns it credited (first, last): a redelivered
   * conversion credits what it credited the first time, whatever touched the person since.
   * The most recent MAX_CREDITS (a redelivery is of the last batches, at most 500 records).
   */
  credits?: Record<string, { first?: string; last?: string }>;
}

/** Conversions whose credit a person item remembers for redeliveries. */
export const MAX_CREDITS = 500;

export interface BotPolicy {
  /** Events per id per minute beyond which it is a bot; 0: behaviour is not judged. */
  maxEventsPerMinute: number;
}

/** Counter effects a conversion has on the campaigns that touched the person before it. */
export interface TouchEffect {
  kind: 'touch';
  model: 'first' | 'last';
  campaignId: string;
}

/** A stream record: its event and where it sits (shard, padded sequence number). */
export interface RecordAt {
  event: CanonicalEvent;
  shardId: string;
  seq: string;
}

/** Why a record is a bot's, if it is: its user agent, or its id's behaviour. */
export type BotReason = 'agent' | 'behaviour';

/** The edge state on a person (created on first use). */
const edgeOf = (stats: { edge?: PersonEdge }): PersonEdge => {
  stats.edge ??= {};
  return stats.edge;
};

/**
 * A new record of this person, in stream order: count it in its minute, flag the person when the
 * minute passes the limit, and say whether the record is a bot's.
 */
export const judgeBot = (
  stats: { edge?: PersonEdge },
  { event, shardId, seq }: RecordAt,
  policy: BotPolicy | undefined,
): BotReason | undefined => {
  const edge = edgeOf(stats);
  if (edge.bot) {
    edge.bot.events++;
    return 'behaviour';
  }
  if (policy && policy.maxEventsPerMinute > 0 && event.type !== 'identify') {
    const minute = event.receivedAt.slice(0, 16);
    edge.rate = edge.rate?.minute === minute ? { minute, n: edge.rate.n + 1 } : { minute, n: 1 };
    if (edge.rate.n > policy.maxEventsPerMinute) {
      edge.bot = { since: event.receivedAt, shardId, seq, events: 1 };
      return 'behaviour';
    }
  }
  if (event.bot !== undefined) return 'agent';
  if (Object.keys(edge).length === 0) delete (stats as { edge?: PersonEdge }).edge;
  return undefined;
};

/** A record already applied to this person (a redelivery): was it judged a bot's? */
export const wasBot = (
  stats: { edge?: PersonEdge },
  { event, shardId, seq }: RecordAt,
): BotReason | undefined => {
  if (event.bot !== undefined) return 'agent';
  const bot = stats.edge?.bot;
  if (!bot || event.receivedAt < bot.since) return undefined;
  // Received together with the record that tripped the limit: stream order decides.
  if (event.receivedAt === bot.since && shardId === bot.shardId && seq < bot.seq) return undefined;
  return 'behaviour';
};

const isTouch = (event: CanonicalEvent): event is CanonicalEvent & { campaignId: string } =>
  event.campaignId !== undefined &&
  event.type !== 'conversion' &&
  event.type !== 'identify' &&
  event.type !== 'exposure';

/** A person's event that names a campaign (other than a conversion) is a touch of that campaign. */
export const applyTouch = (stats: { edge?: PersonEdge }, event: CanonicalEvent): void => {
  if (!isTouch(event)) return;
  const touch: Touch = { campaignId: event.campaignId, at: event.eventTime };
  if (event.utm?.source !== undefined) touch.source = event.utm.source;
  if (event.utm?.medium !== undefined) touch.medium = event.utm.medium;
  const edge = edgeOf(stats);
  if (!edge.firstTouch || touch.at < edge.firstTouch.at) edge.firstTouch = touch;
  if (!edge.lastTouch || touch.at >= edge.lastTouch.at) edge.lastTouch = touch;
};

const creditEffects = (credit: { first?: string; last?: string } | undefined): TouchEffect[] => [
  ...(credit?.first ? [{ kind: 'touch' as const, model: 'first' as const, campaignId: credit.first }] : []),
  ...(credit?.last ? [{ kind: 'touch' as const, model: 'last' as const, campaignId: credit.last }] : []),
];

/**
 * A new conversion credits the person's first-touch and last-touch campaigns as they stand before
 * it, and the person remembers the credit under the record's tag.
 */
export const touchEffects = (
  stats: { edge?: PersonEdge },
  event: CanonicalEvent,
  tag: string,
): TouchEffect[] => {
  if (event.type !== 'conversion' || (!stats.edge?.firstTouch && !stats.edge?.lastTouch)) return [];
  const edge = edgeOf(stats);
  const credit = {
    ...(edge.firstTouch && { first: edge.firstTouch.campaignId }),
    ...(edge.lastTouch && { last: edge.lastTouch.campaignId }),
  };
  const credits = { ...edge.credits, [tag]: credit };
  const tags = Object.keys(credits);
  for (const old of tags.slice(0, Math.max(0, tags.length - MAX_CREDITS))) delete credits[old];
  edge.credits = credits;
  return creditEffects(credit);
};

/** A redelivered conversion: the credit it gave when first applied. */
export const creditedEffects = (stats: { edge?: PersonEdge }, tag: string): TouchEffect[] =>
  creditEffects(stats.edge?.credits?.[tag]);

/** Merge an anonymous profile's touches into its user's: the earlier first, the later last. */
export const mergeTouches = (user: { edge?: PersonEdge }, anonymous: { edge?: PersonEdge }): void => {
  const from = anonymous.edge;
  if (!from?.firstTouch && !from?.lastTouch) return;
  const edge = edgeOf(user);
  if (from.firstTouch && (!edge.firstTouch || from.firstTouch.at < edge.firstTouch.at))
    edge.firstTouch = from.firstTouch;
  if (from.lastTouch && (!edge.lastTouch || from.lastTouch.at > edge.lastTouch.at))
    edge.lastTouch = from.lastTouch;
};
