/**
 * `npm run demo`: drive a running local stack (`npm start`) with a realistic campaign mix over
 * HTTP — thousands of users in sessions, several campaigns, devices, channels and bursts —
 * then compare what was sent with what the metrics endpoint reports.
 *
 *   npm run demo -- [--url http://localhost:3000] [--users 2000] [--campaigns 8] [--data DIR]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CHANNELS, DEVICE_TYPES, EVENT_TYPES, type EventType } from '../functions/core/events';
import { DEFAULT_KEY_DIR, ensureLocalKeys, mintToken } from '../lib/local/keys';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    users: { type: 'string', default: '2000' },
    campaigns: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '8' },
    data: { type: 'string' },
    timeout: { type: 'string', default: '120' },
  },
});
const base = values.url.replace(/\/$/, '');
const users = Number(values.users);
const campaignCount = Number(values.campaigns);

// A seeded generator so two runs send the same mix.
let state = 42;
const random = () => {
  state = (state * 1103515245 + 12345) % 2 ** 31;
  return state / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

const typeWeights: [EventType, number][] = [
  ['view', 40],
  ['click', 25],
  ['video-play', 15],
  ['share', 8],
  ['custom', 7],
  ['conversion', 5],
];
const weightedType = (): EventType => {
  let r = random() * 100;
  for (const [t, w] of typeWeights) {
    r -= w;
    if (r < 0) return t;
  }
  return 'view';
};
const extras: Record<EventType, () => Record<string, unknown>> = {
  click: () => ({ elementId: pick(['hero-cta', 'banner', 'nav-offer']) }),
  view: () => ({ pageId: pick(['home', 'offer', 'product']) }),
  share: () => ({ network: pick(['whatsapp', 'x', 'facebook', 'email']) }),
  'video-play': () => ({ videoId: pick(['teaser', 'howto']), positionSec: 0, durationSec: 30 }),
  conversion: () => ({
    value: Math.round(random() * 10000) / 100,
    currency: 'EUR',
    conversionType: 'purchase',
  }),
  custom: () => ({ name: pick(['wishlist_add', 'coupon_copied']) }),
};

const campaigns = Array.from(
  { length: campaignCount },
  (_, i) => `demo-${i + 1}-${randomUUID().slice(0, 6)}`,
);

/** Sessions: each user has 1-3 sessions of 5-20 events on one device, one or two campaigns. */
const makeEvents = () => {
  const events: Record<string, unknown>[] = [];
  const now = Date.now();
  for (let u = 0; u < users; u++) {
    const userId = `demo-user-${u}`;
    const sessions = 1 + Math.floor(random() * 3);
    for (let s = 0; s < sessions; s++) {
      const deviceType = pick(DEVICE_TYPES);
      const channel = pick(CHANNELS.filter((c) => c !== 'server'));
      const sessionCampaigns = [pick(campaigns), pick(campaigns)];
      const length = 5 + Math.floor(random() * 16);
      const start = now - Math.floor(random() * 3600_000);
      for (let e = 0; e < length; e++) {
        const type = weightedType();
        events.push({
          type,
          eventId: randomUUID(),
          userId,
          campaignId: pick(sessionCampaigns),
          timestamp: new Date(start + e * 5000).toISOString(),
          deviceType,
          channel,
          ...extras[type](),
        });
      }
    }
  }
  // Interleave sessions the way concurrent users do.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [events[i], events[j]] = [events[j] as Record<string, unknown>, events[i] as Record<string, unknown>];
  }
  return events;
};

let lastDrawn = '';
/** A one-line progress bar, redrawn only when it changes (and once a line when not a terminal). */
const progress = (done: number, total: number, label: string) => {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  if (process.stderr.isTTY) process.stderr.write(`\r${bar} ${done}/${total}`);
  else if (bar !== lastDrawn && (filled % 10 === 0 || done === total))
    process.stderr.write(`${bar} ${done}/${total}\n`);
  lastDrawn = bar;
  if (done === total && process.stderr.isTTY) process.stderr.write('\n');
};

const main = async () => {
  const keys = await ensureLocalKeys(values.data ?? DEFAULT_KEY_DIR);
  const admin = await mintToken(keys, { role: 'admin', subject: 'demo' });
  const analyst = await mintToken(keys, { role: 'analyst', subject: 'demo' });
  const health = await fetch(`${base}/api/health`).catch(() => undefined);
  if (!health?.ok) throw new Error(`No healthy Pulse at ${base}: start it with npm start`);

  const sourceRes = await fetch(`${base}/api/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    // A server source with room for the demo's bursts (the default limit is 200 events/s).
    body: JSON.stringify({ name: 'demo traffic', channel: 'web', kind: 'server', rateLimit: 50_000 }),
  });
  if (sourceRes.status !== 201)
    throw new Error(`Creating a source failed: ${sourceRes.status} ${await sourceRes.text()}`);
  const { writeKey } = (await sourceRes.json()) as { writeKey: string };

  const events = makeEvents();

  // Consent first: each user grants analytics, and their events carry the token.
  const userIds = [...new Set(events.map((e) => e.userId as string))];
  const tokens = new Map<string, string>();
  let consented = 0;
  const consentQueue = [...userIds];
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      for (let id = consentQueue.shift(); id; id = consentQueue.shift()) {
        const res = await fetch(`${base}/api/users/${encodeURIComponent(id)}/consent`, {
          method: 'PUT',
          headers: { 'x-api-key': writeKey, 'content-type': 'application/json' },
          body: JSON.stringify({
            purposes: { analytics: true },
            policyVersion: 'demo-1',
            source: 'npm run demo',
          }),
        });
        if (res.status !== 200) throw new Error(`Consent refused: ${res.status} ${await res.text()}`);
        tokens.set(id, ((await res.json()) as { consentToken: string }).consentToken);
        progress(++consented, userIds.length, 'consent ');
      }
    }),
  );
  for (const e of events) e.consentToken = tokens.get(e.userId as string);
  const sent = new Map<string, Record<string, number>>();
  const batches: Record<string, unknown>[][] = [];
  // Bursts: batch sizes vary from a trickle to full 500-event batches.
  for (let i = 0; i < events.length; ) {
    const size = pick([1, 10, 50, 100, 250, 500]);
    batches.push(events.slice(i, i + size));
    i += size;
  }
  let done = 0;
  const started = Date.now();
  const send = async (batch: Record<string, unknown>[]) => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${base}/api/engagement/events`, {
        method: 'POST',
        headers: { 'x-api-key': writeKey, 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      });
      if (res.status === 202) break;
      // The stream pushed back: same events, same ids, counted once.
      if ((res.status === 503 || res.status === 429) && attempt < 10) {
        const retryAfter = Number(res.headers.get('retry-after') ?? 1);
        await new Promise((r) => setTimeout(r, retryAfter * 1000 * (0.5 + Math.random())));
        continue;
      }
      throw new Error(`Batch refused: ${res.status} ${await res.text()}`);
    }
    for (const e of batch) {
      const c = sent.get(e.campaignId as string) ?? {};
      c[e.type as string] = (c[e.type as string] ?? 0) + 1;
      sent.set(e.campaignId as string, c);
    }
    done += batch.length;
    progress(done, events.length, 'sending ');
  };
  const queue = [...batches];
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) await send(b);
    }),
  );
  const sendSeconds = (Date.now() - started) / 1000;

  // Wait until the metrics endpoint has counted everything (or the deadline passes).
  const from = new Date(Date.now() - 26 * 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const deadline = Date.now() + Number(values.timeout) * 1000;
  const counted = new Map<string, Record<string, number>>();
  const matches = () =>
    campaigns.every((c) => EVENT_TYPES.every((t) => (sent.get(c)?.[t] ?? 0) === (counted.get(c)?.[t] ?? 0)));
  do {
    for (const c of campaigns) {
      const res = await fetch(
        `${base}/api/metrics/campaigns/${encodeURIComponent(c)}?from=${from}&to=${to}&granularity=hour`,
        {
          headers: { authorization: `Bearer ${analyst}` },
        },
      );
      if (res.ok) counted.set(c, ((await res.json()) as { totals: Record<string, number> }).totals);
    }
    const countedTotal = [...counted.values()].reduce(
      (n, t) => n + Object.values(t).reduce((a, b) => a + b, 0),
      0,
    );
    progress(Math.min(countedTotal, events.length), events.length, 'counted ');
    if (matches()) break;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < deadline);
  if (!matches()) process.stderr.write('\n');

  const rows = campaigns.flatMap((c) =>
    EVENT_TYPES.map((t) => ({
      campaign: c,
      type: t,
      sent: sent.get(c)?.[t] ?? 0,
      counted: counted.get(c)?.[t] ?? 0,
      ok: (sent.get(c)?.[t] ?? 0) === (counted.get(c)?.[t] ?? 0) ? 'yes' : 'NO',
    })),
  );
  console.table(rows);
  const ok = matches();
  console.log(
    `${events.length} events from ${users} users in ${campaigns.length} campaigns, sent in ${sendSeconds.toFixed(1)} s ` +
      `(${Math.round(events.length / sendSeconds)} events/s). sent = counted for every campaign and type: ${ok ? 'yes' : 'NO'}`,
  );
  process.exit(ok ? 0 : 1);
};

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${(error as Error).message}`);
  process.exit(1);
});
