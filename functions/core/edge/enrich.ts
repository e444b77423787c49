/**
 * Enrichment at the edge, the part of the envelope a door adds from what surrounds an event:
 * parsed user agent (device class when the client named none, OS, browser, bot), country, and
 * campaign attribution from UTM parameters. What is kept is the parsed result only: never the
 * user agent string, never the address. Pure; the door builds the `EdgeContext` once per request.
 */
import type { CanonicalEvent, DeviceType } from '../events';
import {
  type Attribution,
  attributionFromSegment,
  attributionFromUrl,
  DEFAULT_UTM_MAPPING,
  type UtmMapping,
} from './campaign-attribution';
import type { TrackingPlans } from './tracking-plan';
import type { UserAgentInfo } from './user-agent';

/** `flag`: a bot's events are kept, marked, and left out of metrics; `drop`: never put on the stream. */
export const BOT_MODES = ['flag', 'drop'] as const;
export type BotMode = (typeof BOT_MODES)[number];

export interface EdgeContext {
  botMode: BotMode;
  /** The request's own user agent, parsed. */
  agent?: UserAgentInfo;
  /** The request's country (trusted header or database lookup of its address). */
  country?: string;
  utm: UtmMapping;
  /** Tracking plans of custom events, when any is declared. */
  plans?: TrackingPlans;
  /** Parser for a user agent an event carries itself (Segment's `context.userAgent`). */
  parseAgent?: (userAgent: string | undefined) => UserAgentInfo | undefined;
  /** Lookup for an address an event carries itself (Segment's `context.ip`), when configured. */
  countryOf?: (ip: string | undefined) => string | undefined;
}

/** Without a door's edge (tests, a door built by hand): attribution by the default mapping only. */
export const PLAIN_EDGE: EdgeContext = { botMode: 'flag', utm: DEFAULT_UTM_MAPPING };

/** What an event itself says about its edge (a Segment message's context); used, never stored. */
export interface EdgeHints {
  userAgent?: string;
  ip?: string;
  /** Page URL whose `utm_*` parameters attribute it. */
  url?: string;
  /** Segment's `context.campaign`. */
  campaign?: unknown;
}

/** UTM fields the envelope keeps beside `campaignId`. */
export type Utm = Omit<Attribution, 'campaignId'>;

const attributionOf = (
  hints: EdgeHints | undefined,
  properties: Record<string, unknown>,
  mapping: UtmMapping,
): Attribution | undefined =>
  attributionFromSegment(hints?.campaign, mapping) ??
  attributionFromUrl(hints?.url, mapping) ??
  attributionFromUrl(properties.url, mapping);

/** Device class the event goes under: the client's, else its user agent's, else `other`. */
export const deviceTypeFor = (
  given: DeviceType | undefined,
  edge: EdgeContext | undefined,
  hints: EdgeHints | undefined,
): DeviceType => given ?? agentOf(edge, hints)?.deviceType ?? 'other';

const agentOf = (edge: EdgeContext | undefined, hints: EdgeHints | undefined) =>
  hints?.userAgent !== undefined && edge?.parseAgent ? edge.parseAgent(hints.userAgent) : edge?.agent;

/** Add the edge's fields to a canonical event being built (in place: the ingest hot path). */
export const enrichEvent = (out: CanonicalEvent, edge: EdgeContext, hints: EdgeHints | undefined): void => {
  const agent = agentOf(edge, hints);
  if (agent) {
    if (agent.os !== undefined) out.os = agent.os;
    if (agent.browser !== undefined) out.browser = agent.browser;
    if (agent.bot) out.bot = 'agent';
  }
  const country = hints?.ip !== undefined && edge.countryOf ? edge.countryOf(hints.ip) : edge.country;
  if (country !== undefined) out.country = country;
  // Attribution only for an event that names no campaign itself.
  if (out.campaignId !== undefined || out.type === 'identify' || out.type === 'exposure') return;
  const attribution = attributionOf(hints, out.properties, edge.utm);
  if (!attribution) return;
  const { campaignId, ...utm } = attribution;
  if (campaignId !== undefined) out.campaignId = campaignId;
  if (Object.keys(utm).length > 0) out.utm = utm;
};
