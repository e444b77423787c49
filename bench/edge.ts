/**
 * Bench section `edge-hot-path`: the ingest hot path (500-event batch, in process, consent and
 * data minimisation on, as deployed) with the edge on — user-agent parsing and bot detection (the
 * request's agent, parsed through the per-container memo as the door does), UTM attribution,
 * and a tracking plan checked on every custom event — against the same run's hot path without
 * the edge and the same floor as the `hot-path` section (JSON.parse of the body + JSON.stringify
 * of each event). Reports the added cost per event.
 */
import { issueConsentToken } from '../functions/core/consent';
import { DEFAULT_UTM_MAPPING } from '../functions/core/edge/campaign-attribution';
import type { EdgeContext } from '../functions/core/edge/enrich';
import { TrackingPlans } from '../functions/core/edge/tracking-plan';
import { userAgentCache } from '../functions/core/edge/user-agent';
import { EVENT_TYPES } from '../functions/core/events';
import { distinctById, ingestBatch } from '../functions/core/ingest';
import { decodeBody } from '../functions/http/body';
import { validEvent } from '../test/support/events';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Median ns per event of each timed function: warmed up first, then timed in interleaved rounds
 * so machine noise hits all alike.
 */
const interleavedMedians = (
  fns: Record<string, () => number>,
  eventsPerCall: number,
): Record<string, number> => {
  const entries = Object.entries(fns);
  for (let i = 0; i < 50; i++) for (const [, fn] of entries) fn();
  const samples = new Map(entries.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round < 15; round++)
    for (const [name, fn] of entries) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) fn();
      samples.get(name)?.push(Number(process.hrtime.bigint() - t) / 20 / eventsPerCall);
    }
  return Object.fromEntries([...samples].map(([name, xs]) => [name, median(xs)]));
};
const BROWSER =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36';

export const edgeHotPath = () => {
  const key = Buffer.from('bench-signing-key-bench-signing-key');
  // Consent on, as deployed: each user's token, issued once.
  const tokenOf = new Map<string, string>();
  const events = Array.from({ length: 500 }, (_, i) => {
    const userId = `user-${i % 120}`;
    if (!tokenOf.has(userId))
      tokenOf.set(userId, issueConsentToken(key, userId, ['analytics'], new Date(), 30).token);
    const properties = { screen: 'home', position: i % 7, ab: i % 2 === 0 ? 'a' : 'b', tags: ['x', 'y'] };
    // Every event from a landing page with UTM parameters.
    const url = `https://shop.example/p/${i}?utm_source=news&utm_medium=email&utm_campaign=spring`;
    const eventId = `evt-${i}-${Math.random().toString(36).slice(2, 10)}`;
    return validEvent(EVENT_TYPES[i % EVENT_TYPES.length], {
      userId,
      consentToken: tokenOf.get(userId),
      eventId,
      properties: { ...properties, url },
    });
  });
  const body = JSON.stringify({ events });
  const headers = { 'content-type': 'application/json' };
  const plans = new TrackingPlans().use([
    {
      name: 'wishlist_add',
      mode: 'warn',
      schema: {
        type: 'object',
        properties: {
          screen: { type: 'string' },
          position: { type: 'integer', minimum: 0 },
          tags: { type: 'array' },
        },
        required: ['screen'],
      },
      updatedAt: '2026-01-01T00:00:00.000Z',
    },
  ]);
  const parseAgent = userAgentCache();
  const verified = new Map();

  const floor = () => {
    const parsed = JSON.parse(body) as { events: unknown[] };
    let n = 0;
    for (const e of parsed.events) n += JSON.stringify(e).length;
    return n;
  };
  const ingestWith = (edgeOn: boolean) => () => {
    const now = new Date();
    const { value } = decodeBody(body, false, headers, { maxBytes: 1024 * 1024 });
    // Per request, as the door: the request's agent through the memo, the cached plans.
    const edge: EdgeContext | undefined = edgeOn
      ? { botMode: 'flag', utm: DEFAULT_UTM_MAPPING, plans, parseAgent, agent: parseAgent(BROWSER) }
      : undefined;
    const outcome = ingestBatch((value as { events: unknown[] }).events, {
      sourceId: 'src_bench',
      sourceChannel: 'ios',
      horizonDays: 30,
      door: 'api',
      receivedAt: now,
      receivedAtIso: now.toISOString(),
      consent: { key, verified },
      pii: { mode: 'reject', key },
      ...(edge && { edge }),
    });
    if (outcome.rejected.length > 0) throw new Error(JSON.stringify(outcome.rejected[0]));
    let n = 0;
    for (const e of distinctById(outcome.accepted)) n += Buffer.from(e.json).byteLength;
    return n;
  };
  const ns = interleavedMedians({ floor, without: ingestWith(false), withEdge: ingestWith(true) }, 500);
  const [floorNs, withoutNs, edgeNs] = [ns.floor, ns.without, ns.withEdge] as [number, number, number];
  return {
    floorNsPerEvent: Math.round(floorNs),
    ingestNsPerEvent: Math.round(withoutNs),
    ratio: +(withoutNs / floorNs).toFixed(2),
    withEdgeNsPerEvent: Math.round(edgeNs),
    withEdgeRatio: +(edgeNs / floorNs).toFixed(2),
    addedNsPerEvent: Math.round(edgeNs - withoutNs),
    /** The same target as the hot-path section: the whole path within 2x the floor. */
    target: 2,
  };
};
