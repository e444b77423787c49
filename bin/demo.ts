/**
 * `npm run demo`: drive a running local stack (`npm start`) with a realistic campaign mix over
 * HTTP — thousands of users in sessions, several campaigns, devices, channels and bursts —
 * then compare what was sent with what the metrics endpoint reports. `--help` lists the options.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CHANNELS, DEVICE_TYPES, EVENT_TYPES, type EventType } from '../functions/core/events';
import { ensureLocalKeys, mintToken } from '../lib/local/keys';
import { keyDirFor, RUNNING_STACK_FILE, readRunningStack } from '../lib/local/running';

/**
 * The default wait grows with what was sent: a slow laptop folded about 450 events/s (50,000 in
 * 110 s), so a minute plus a second per 250 events leaves room to spare.
 */
const EVENTS_PER_TIMEOUT_SECOND = 250;

const USAGE = `Usage: npm run demo -- [options]

Sends a realistic campaign mix to a running npm start (consent first, then events in bursts of
1 to 500), waits until the metrics endpoint has counted them, and prints sent against counted.

Options:
  --url URL           the API (default: the running npm start's, from ${RUNNING_STACK_FILE};
                      else http://localhost:3000)
  --users N           people, each with 1-3 sessions of 5-20 events (default 2000)
  --campaigns N       campaigns (default 8)
  --concurrency N     requests in flight (default 8)
  --data DIR          sign tokens with the key kept in DIR (default: the running stack's)
  --timeout SECONDS   how long to wait for the counts once everything is sent
                      (default: 60 + 1 per ${EVENTS_PER_TIMEOUT_SECOND} events sent)
  -h, --help          show this help`;

const positive = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
};

const running = readRunningStack();
const options = (() => {
  try {
    const { values } = parseArgs({
      options: {
        url: { type: 'string' },
        users: { type: 'string' },
        campaigns: { type: 'string' },
        concurrency: { type: 'string' },
        data: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return {
      base: (values.url ?? running?.url ?? 'http://localhost:3000').replace(/\/$/, ''),
      users: positive(values.users, '--users') ?? 2000,
      campaigns: positive(values.campaigns, '--campaigns') ?? 8,
      concurrency: positive(values.concurrency, '--concurrency') ?? 8,
      keyDir: keyDirFor(values.data, running),
      timeoutSeconds: positive(values.timeout, '--timeout'),
    };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
const base = options.base;
const users = options.users;
const campaignCount = options.campaigns;

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
let lastLineAt = 0;
/**
 * A one-line progress bar with an optional note (time waited), redrawn in place on a terminal;
 * elsewhere a line at every tenth of the way, and at least every 5 seconds while it waits.
 */
const progress = (done: number, total: number, label: string, note = '') => {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
  const line = note ? `${bar}  ${note}` : bar;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line}\x1b[K`);
    if (done === total) process.stderr.write('\n');
  } else if (
    (bar !== lastDrawn && (filled % 10 === 0 || done === total)) ||
    (note && Date.now() - lastLineAt >= 5000)
  ) {
    process.stderr.write(`${line}\n`);
    lastLineAt = Date.now();
  }
  lastDrawn = bar;
};

/** What a 401 from the stack means here, and what to do about it. */
const unauthorizedHint = () =>
  `The stack at ${base} does not trust the key in ${options.keyDir}. ` +
  (running
    ? `${RUNNING_STACK_FILE} names a stack at ${running.url}: is --url pointing at another one?`
    : `No running npm start was found through ${RUNNING_STACK_FILE}: if the stack runs with ` +
      '--data DIR elsewhere, pass the same --data DIR (and --url) here.');

const main = async () => {
  const keys = await ensureLocalKeys(options.keyDir);
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
  if (sourceRes.status === 401) throw new Error(`Creating a source failed: 401. ${unauthorizedHint()}`);
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
    Array.from({ length: options.concurrency }, async () => {
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
    Array.from({ length: options.concurrency }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) await send(b);
    }),
  );
  const sendSeconds = (Date.now() - started) / 1000;

  // Wait until the metrics endpoint has counted everything (or the deadline passes).
  const from = new Date(Date.now() - 26 * 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const timeoutSeconds = options.timeoutSeconds ?? 60 + Math.ceil(events.length / EVENTS_PER_TIMEOUT_SECOND);
  const waitStarted = Date.now();
  const deadline = waitStarted + timeoutSeconds * 1000;
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
      if (res.status === 401) throw new Error(`Reading metrics failed: 401. ${unauthorizedHint()}`);
      if (res.ok) counted.set(c, ((await res.json()) as { totals: Record<string, number> }).totals);
    }
    const countedTotal = [...counted.values()].reduce(
      (n, t) => n + Object.values(t).reduce((a, b) => a + b, 0),
      0,
    );
    const waited = Math.round((Date.now() - waitStarted) / 1000);
    progress(
      Math.min(countedTotal, events.length),
      events.length,
      'counted ',
      `${waited} s of ${timeoutSeconds} s`,
    );
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
  if (!ok) console.log(`Not all counted within ${timeoutSeconds} s: --timeout SECONDS waits longer.`);
  process.exit(ok ? 0 : 1);
};

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${(error as Error).message}`);
  process.exit(1);
});
