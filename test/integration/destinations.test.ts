/**
 * Destination delivery against dynalite and fake vendors: the outbox and its sparse due index,
 * retries under injected failures and redeliveries (a property: every consented event reaches
 * each matching destination, once per idempotency key at a vendor that deduplicates), dead state,
 * the circuit breaker, withdrawal and erasure, segment triggers, alerts and replay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentRepository } from '../../functions/adapters/consent-repository';
import { FolderSecretsStore } from '../../functions/adapters/destination-secrets';
import { DestinationsRepository, type ReplayJob } from '../../functions/adapters/destinations-repository';
import { ensureHubspotProperties } from '../../functions/adapters/hubspot-properties';
import { MembershipTriggers } from '../../functions/adapters/membership-triggers';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import {
  DUE_INDEX,
  OutboxPersonalData,
  OutboxRepository,
  unstoredItem,
} from '../../functions/adapters/outbox-repository';
import { SegmentSizes } from '../../functions/adapters/segment-sizes';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import { sendRequest } from '../../functions/adapters/vendor-transport';
import { evaluateAlerts } from '../../functions/alerts/evaluator';
import type { Destination } from '../../functions/core/destinations/definition';
import { CIRCUIT, eventMessage, type OutboundMessage } from '../../functions/core/destinations/delivery';
import { membershipKey } from '../../functions/core/destinations/ordering';
import { memoryArchive } from '../../functions/core/destinations/replay';
import type { CanonicalEvent } from '../../functions/core/events';
import { keyedIdHash } from '../../functions/core/signing';
import { type DeliverDeps, deliverRound, Pacer } from '../../functions/destinations/deliver';
import { drainDue, stepReplays } from '../../functions/destinations/redrive-steps';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { sampleAlert, sampleEvent, TEST_WEBHOOK_SECRET } from '../support/destinations';
import { startFakeBraze } from '../support/fake-vendors/braze';
import { startFakeGa4 } from '../support/fake-vendors/ga4';
import { startFakeHubspot } from '../support/fake-vendors/hubspot';
import { type FakeMixpanel, startFakeMixpanel } from '../support/fake-vendors/mixpanel';
import { type FakeWebhook, startFakeWebhook } from '../support/fake-vendors/webhook';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let destinations: DestinationsRepository;
let outbox: OutboxRepository;
let consent: ConsentRepository;
let secretsDir: string;
let secrets: FolderSecretsStore;
let webhook: FakeWebhook;
let mixpanel: FakeMixpanel;
const key = new Uint8Array(32).fill(7);
const SECRET = TEST_WEBHOOK_SECRET;
let n = 0;
const uid = (name: string) => `${name}-${++n}`;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  destinations = new DestinationsRepository(db, emulators.names.tables.destinations);
  outbox = new OutboxRepository(db, emulators.names.tables.outbox);
  consent = new ConsentRepository(db, emulators.names.tables.consent);
  secretsDir = mkdtempSync(join(tmpdir(), 'pulse-dest-secrets-'));
  secrets = new FolderSecretsStore(secretsDir, 'pulse/test/destinations/');
  webhook = await startFakeWebhook(() => SECRET);
  mixpanel = await startFakeMixpanel({ projectId: '42', user: 'svc', secret: 'pw' });
});
afterAll(async () => {
  await webhook.close();
  await mixpanel.close();
  await emulators.close();
  rmSync(secretsDir, { recursive: true, force: true });
});

const deps = (over: Partial<DeliverDeps> = {}): DeliverDeps => ({
  outbox,
  destinations,
  secrets,
  consent,
  linkedIds: async () => [],
  key,
  consentRequired: true,
  send: (r) => sendRequest(r, 300),
  pace: new Pacer(),
  committedMembers: (pairs) => new SegmentSizes(db, emulators.names.tables.tags).committed(pairs),
  ...over,
});

const destination = async (
  type: Destination['type'],
  over: Partial<Destination> = {},
  credentials: Record<string, string> = {},
): Promise<Destination> => {
  const id = uid(type);
  const d: Destination = {
    destinationId: id,
    type,
    enabled: true,
    filter: {},
    settings:
      type === 'webhook' ? { url: `${webhook.url}/hook` } : { projectId: '42', baseUrl: mixpanel.url },
    consentPurpose: 'analytics',
    audiences: [],
    credentialFields: [],
    createdAt: '',
    updatedAt: '',
    ...over,
  };
  await destinations.put(d);
  await secrets.write(
    id,
    type === 'webhook'
      ? { signingSecret: SECRET }
      : type === 'mixpanel'
        ? { serviceAccountUser: 'svc', serviceAccountSecret: 'pw' }
        : credentials,
  );
  // As the admin route does on save: the portal gets the properties the upserts name.
  if (type === 'hubspot' && d.settings.mode === 'properties')
    expect(await ensureHubspotProperties(d.settings, String(credentials.accessToken), d.audiences)).toEqual({
      kind: 'done',
    });
  return d;
};

const grant = (subject: string, purposes: Record<string, boolean>, at = new Date()) =>
  consent.record(subject, { purposes, policyVersion: 'v1' }, 'src', at);

const personEvents = async (count: number, purposes: Record<string, boolean> = { analytics: true }) => {
  const person = uid('person');
  await grant(person, purposes);
  const now = Date.now();
  return Array.from({ length: count }, (_, i) =>
    eventMessage(
      sampleEvent({
        eventId: uid(`ev${i}`),
        personKey: person,
        userId: person,
        eventTime: new Date(now - 60_000 + i).toISOString(),
      }),
    ),
  );
};

/** Drains a destination round after round, moving the clock past every retry, until nothing waits. */
const drainAll = async (
  d: Destination,
  start: Date,
  dd: DeliverDeps = deps(),
  maxRounds = 60,
  resumeWhenPaused = false,
) => {
  let now = start;
  for (let round = 0; round < maxRounds; round++) {
    const [result] = await drainDue({ deps: dd, list: [d], now, deadline: Date.now() + 30_000 });
    if (result?.paused && resumeWhenPaused) await destinations.resume(d.destinationId);
    const waiting = await outbox.waiting(d.destinationId);
    if (waiting.count === 0) return now;
    now = new Date(Math.max(now.getTime() + 60_000, Date.parse(waiting.oldestDueAt as string)));
  }
  throw new Error('outbox never drained');
};

const itemsOf = async (destinationId: string) =>
  ((await db.send(new ScanCommand({ TableName: emulators.names.tables.outbox }))).Items ?? []).filter(
    (i) => i.destinationId === destinationId,
  );

describe('outbox', () => {
  it('enqueues each message once per destination, and only waiting messages are in the due index', async () => {
    const d = await destination('webhook');
    const messages = await personEvents(3);
    const now = new Date();
    const entries = messages.map((message) => ({ destinationId: d.destinationId, message }));
    expect(await outbox.enqueue(entries, now, now)).toHaveLength(3);
    expect(await outbox.enqueue(entries, now, now)).toHaveLength(0);
    expect((await outbox.waiting(d.destinationId)).count).toBe(3);
    await drainAll(d, now);
    expect((await outbox.waiting(d.destinationId)).count).toBe(0);
    const items = await itemsOf(d.destinationId);
    expect(items.map((i) => i.state)).toEqual(['delivered', 'delivered', 'delivered']);
    // Delivered items keep no payload and are out of the sparse index.
    expect(items.every((i) => i.message === undefined && i.dueKey === undefined)).toBe(true);
    const indexed = await db.send(
      new QueryCommand({
        TableName: emulators.names.tables.outbox,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueKey = :k',
        ExpressionAttributeValues: { ':k': `${d.destinationId}#0` },
      }),
    );
    expect(indexed.Items).toEqual([]);
    expect((await destinations.status(d.destinationId)).delivered).toBe(3);
  });
});

describe('at-least-once under failures', () => {
  it('every consented event reaches each destination; Mixpanel imports each $insert_id exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<'503' | '429' | 'hang' | '500'>('503', '429', 'hang', '500'), {
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        async (faults, count, redeliver) => {
          const hook = await destination('webhook');
          const mp = await destination('mixpanel');
          const consented = await personEvents(count);
          const refused = await personEvents(2, { analytics: false });
          const all = [...consented, ...refused];
          webhook.unverified = 0;
          const toFault = (f: string) =>
            f === 'hang'
              ? { hang: true as const }
              : { status: Number(f), ...(f === '429' && { headers: { 'retry-after': '120' } }) };
          webhook.faults.splice(0, Infinity, ...faults.map(toFault));
          mixpanel.faults.splice(0, Infinity, ...faults.map(toFault));
          const now = new Date();
          // The consumer's first attempt (nothing stored unless it fails)…
          const firstAttempt = async () => {
            for (const d of [hook, mp])
              await deliverRound(
                deps(),
                d,
                all.map((m) => unstoredItem(d.destinationId, m, now)),
                now,
              );
          };
          await firstAttempt();
          // …a redelivered stream batch: sent again (vendors deduplicate), stored failures kept as they are…
          if (redeliver) await firstAttempt();
          // …and the redrive takes what failed, after the consumer's lease.
          for (const d of [hook, mp]) await drainAll(d, new Date(now.getTime() + 121_000));
          webhook.faults.length = 0;
          mixpanel.faults.length = 0;

          const got = new Set(webhook.messages.map((m) => m.id));
          for (const m of consented) {
            expect(got.has(m.messageId)).toBe(true);
            expect(mixpanel.imported.has(m.messageId)).toBe(true);
          }
          for (const m of refused) {
            expect(got.has(m.messageId)).toBe(false);
            expect(mixpanel.imported.has(m.messageId)).toBe(false);
          }
          expect(webhook.unverified).toBe(0);
          const status = await destinations.status(mp.destinationId);
          // Counted per delivery: a redelivered batch is sent (and counted) again.
          if (redeliver) expect(status.delivered).toBeGreaterThanOrEqual(count);
          else expect(status.delivered).toBe(count);
        },
      ),
      { numRuns: 6 },
    );
  }, 120_000);
});

describe('dead state and the circuit breaker', () => {
  it('retries a failing vendor for three hours, then marks the messages dead with its answer', async () => {
    const d = await destination('webhook', { settings: { url: `${webhook.url}/gone` } });
    const messages = await personEvents(1);
    const now = new Date();
    await outbox.enqueue(
      [{ destinationId: d.destinationId, message: messages[0] as OutboundMessage }],
      now,
      now,
    );
    webhook.faults.push(...Array.from({ length: 100 }, () => ({ status: 503, body: 'maintenance' })));
    // The breaker may pause it before the message dies: resumed each time, as an operator would.
    const end = await drainAll(d, now, deps(), 200, true);
    webhook.faults.length = 0;
    const [item] = await itemsOf(d.destinationId);
    expect(item?.state).toBe('dead');
    expect(String(item?.lastError)).toContain('503 maintenance');
    expect(Number(item?.attempts)).toBeGreaterThanOrEqual(3);
    expect(end.getTime() - now.getTime()).toBeGreaterThanOrEqual(3 * 3_600_000);
    const status = await destinations.status(d.destinationId);
    expect(status.dead).toBe(1);
    expect(status.lastErrors[0]?.error).toContain('503');
  }, 60_000);

  it('pauses a destination after failures in a row, delivers nothing while paused, resumes on request', async () => {
    const d = await destination('webhook');
    const messages = await personEvents(CIRCUIT.failuresToOpen + 2);
    const now = new Date();
    // One message per round, each failing.
    webhook.faults.splice(
      0,
      Infinity,
      ...Array.from({ length: CIRCUIT.failuresToOpen }, () => ({ status: 500 })),
    );
    for (const message of messages.slice(0, CIRCUIT.failuresToOpen)) {
      const [item] = await outbox.enqueue([{ destinationId: d.destinationId, message }], now, now);
      await deliverRound(deps(), d, [item as never], now);
    }
    const status = await destinations.status(d.destinationId);
    expect(status.paused?.reason).toContain('failed requests in a row');
    const later = new Date(now.getTime() + 6 * 3_600_000);
    const result = await drainDue({ deps: deps(), list: [d], now: later, deadline: Date.now() + 10_000 });
    expect(result[0]).toMatchObject({ paused: true, attempted: 0 });
    await destinations.resume(d.destinationId);
    await drainAll(d, later);
    expect((await destinations.status(d.destinationId)).delivered).toBe(CIRCUIT.failuresToOpen);
  }, 60_000);
});

describe('privacy', () => {
  it('a withdrawal drops the person’s queued messages undelivered', async () => {
    const d = await destination('webhook');
    const messages = await personEvents(3);
    const now = new Date();
    await outbox.enqueue(
      messages.map((message) => ({ destinationId: d.destinationId, message })),
      now,
      now,
    );
    await grant(messages[0]?.personKey as string, { analytics: false }, new Date(now.getTime() + 1));
    await drainAll(d, now);
    // Kept as keys only (a redelivered record must not enqueue them again), no payload.
    const left = await itemsOf(d.destinationId);
    expect(left.map((i) => [i.state, i.message])).toEqual([
      ['dropped', undefined],
      ['dropped', undefined],
      ['dropped', undefined],
    ]);
    const ids = new Set(webhook.messages.map((m) => m.id));
    for (const m of messages) expect(ids.has(m.messageId)).toBe(false);
    expect((await destinations.status(d.destinationId)).consentDropped).toBe(3);
  });

  it('erasure removes every message of the person, waiting or delivered; an erasure marker stops delivery', async () => {
    const d = await destination('webhook');
    const [first, ...rest] = await personEvents(3);
    const person = first?.personKey as string;
    const now = new Date();
    await outbox.enqueue([{ destinationId: d.destinationId, message: first as OutboundMessage }], now, now);
    await drainAll(d, now);
    await outbox.enqueue(
      rest.map((message) => ({ destinationId: d.destinationId, message })),
      new Date(now.getTime() + 3_600_000),
      now,
    );
    const store = new OutboxPersonalData(outbox);
    expect(await store.export([person])).toHaveLength(3);
    expect(await store.erase([person])).toBe(3);
    expect(await itemsOf(d.destinationId)).toEqual([]);
    // A message enqueued after the marker (in flight at erasure) never leaves.
    const late = (await personEvents(1))[0] as OutboundMessage;
    await consent.markErased(keyedIdHash(key, late.personKey as string), now);
    await outbox.enqueue([{ destinationId: d.destinationId, message: late }], now, now);
    await drainAll(d, now);
    expect(webhook.messages.some((m) => m.id === late.messageId)).toBe(false);
  });
});

describe('triggers', () => {
  it('a person entering and leaving a segment becomes messages for the destinations following it', async () => {
    const d = await destination('webhook', { audiences: ['vip'], consentPurpose: 'marketing' });
    const person = uid('member');
    await grant(person, { analytics: true, marketing: true });
    const triggers = new MembershipTriggers(
      db,
      emulators.names.tables.destinations,
      emulators.names.tables.outbox,
      0,
    );
    const tags = new TagsRepository(db, emulators.names.tables.tags, triggers);
    const at = new Date();
    await tags.addManualTags(person, ['vip'], at);
    await tags.addManualTags(person, ['vip'], at);
    await drainAll(d, new Date(Date.now() + 1000));
    await tags.removeManualTag(person, 'vip');
    await drainAll(d, new Date(Date.now() + 1000));
    const got = webhook.messages.filter((m) => m.personKey === person);
    expect(got.map((m) => m.kind)).toEqual(['segment.entered', 'segment.left']);
    expect(got[0]?.hashedIds?.personKey).toMatch(/^[0-9a-f]{64}$/);
    // Joined and left again before the redrive ran: the join is superseded, never sent stale.
    await tags.addManualTags(person, ['vip'], new Date());
    await tags.removeManualTag(person, 'vip');
    await drainAll(d, new Date(Date.now() + 1000));
    expect(webhook.messages.filter((m) => m.personKey === person).map((m) => m.kind)).toEqual([
      'segment.entered',
      'segment.left',
      'segment.left',
    ]);
    expect((await destinations.status(d.destinationId)).superseded).toBe(1);
    expect((await itemsOf(d.destinationId)).filter((i) => i.state === 'superseded')).toHaveLength(1);
  });

  it('a trigger that fails to be written is written by the retry: the size counts once, the message goes once', async () => {
    const tag = uid('vip');
    const d = await destination('webhook', { audiences: [tag], consentPurpose: 'marketing' });
    const person = uid('flaky');
    await grant(person, { analytics: true, marketing: true });
    // The outbox throttles the first write of the entry.
    class FlakyTriggers extends MembershipTriggers {
      failures = 1;
      override async changed(...args: Parameters<MembershipTriggers['changed']>) {
        if (this.failures-- > 0) throw new Error('ProvisionedThroughputExceededException');
        return super.changed(...args);
      }
    }
    const triggers = new FlakyTriggers(
      db,
      emulators.names.tables.destinations,
      emulators.names.tables.outbox,
      0,
    );
    const tags = new TagsRepository(db, emulators.names.tables.tags, triggers);
    await expect(tags.addManualTags(person, [tag], new Date())).rejects.toThrow('Throughput');
    // The caller's retry (a redelivered batch, the client's repeat) finishes the change.
    await tags.addManualTags(person, [tag], new Date());
    await tags.addManualTags(person, [tag], new Date());
    expect(await tags.segmentSize(tag)).toBe(1);
    await drainAll(d, new Date(Date.now() + 1000));
    const got = webhook.messages.filter((m) => m.personKey === person);
    expect(got.map((m) => [m.kind, m.segment])).toEqual([['segment.entered', tag]]);
  });

  it('audiences reach Braze users by external id (update only) and HubSpot contacts as a property per segment', async () => {
    const braze = await startFakeBraze('braze-key');
    const hub = await startFakeHubspot('hub-token');
    try {
      const audience = { audiences: ['vip', 'gold'], consentPurpose: 'marketing' as const };
      const toBraze = await destination(
        'braze',
        { ...audience, settings: { baseUrl: braze.url } },
        { apiKey: 'braze-key' },
      );
      const toHub = await destination(
        'hubspot',
        { ...audience, settings: { mode: 'properties', baseUrl: hub.url } },
        { accessToken: 'hub-token' },
      );
      // A known user (their app created the Braze profile) and a person Braze has never seen.
      const known = `${uid('Known')}@Example.com`;
      const unknown = uid('anon');
      braze.profiles.add(`external_id:${known}`);
      for (const p of [known, unknown]) await grant(p, { analytics: true, marketing: true });
      const triggers = new MembershipTriggers(
        db,
        emulators.names.tables.destinations,
        emulators.names.tables.outbox,
        0,
      );
      const tags = new TagsRepository(db, emulators.names.tables.tags, triggers);
      // Two audiences at once: two changes of one contact in one round.
      await tags.addManualTags(known, ['vip', 'gold'], new Date());
      await tags.addManualTags(unknown, ['vip'], new Date());
      const later = new Date(Date.now() + 1000);
      await drainAll(toBraze, later);
      await drainAll(toHub, later);
      expect(braze.segments.get(known)).toEqual(new Set(['vip', 'gold']));
      expect([...braze.profiles].some((p) => p.endsWith(unknown))).toBe(false);
      expect(braze.skipped).toBe(1);
      expect(hub.contacts.get(known.toLowerCase())).toMatchObject({
        pulse_segment_vip: 'true',
        pulse_segment_gold: 'true',
      });

      await tags.removeManualTag(known, 'vip');
      await drainAll(toBraze, new Date(Date.now() + 1000));
      await drainAll(toHub, new Date(Date.now() + 1000));
      expect(braze.segments.get(known)).toEqual(new Set(['gold']));
      expect(hub.contacts.get(known.toLowerCase())).toMatchObject({
        pulse_segment_vip: 'false',
        pulse_segment_gold: 'true',
        pulse_last_segment_change: '-vip',
      });
    } finally {
      await braze.close();
      await hub.close();
    }
  });

  it('a campaign alert fires once from the counters and reaches destinations asking for alerts', async () => {
    const d = await destination('webhook', { filter: { kinds: ['alert'] } });
    const campaign = uid('camp');
    const metricsTable = emulators.names.tables.metrics;
    await db.send(
      new PutCommand({
        TableName: metricsTable,
        Item: { pk: 'campaigns', sk: campaign, shards: new Set(['s1']) },
      }),
    );
    await db.send(
      new PutCommand({
        TableName: metricsTable,
        Item: { pk: `c#${campaign}#s1`, sk: 'q#2026-11-29T09:45', n: 40, t_conversion: 12 },
      }),
    );
    await destinations.putAlert(sampleAlert({ alertId: uid('alert'), campaignId: campaign }));
    const evalDeps = { destinations, metrics: new MetricsRepository(db, metricsTable), outbox };
    const now = new Date('2026-11-29T10:05:00.000Z');
    const first = await evaluateAlerts(evalDeps, now);
    const again = await evaluateAlerts(evalDeps, new Date('2026-11-29T10:10:00.000Z'));
    expect(first.fired).toHaveLength(1);
    expect(again.fired).toEqual([]);
    await drainAll(d, new Date(Date.now() + 1000));
    const got = webhook.messages.filter((m) => m.kind === 'alert' && m.alert?.campaignId === campaign);
    expect(got).toHaveLength(1);
    expect(got[0]?.alert).toMatchObject({ value: 12, threshold: 10, metric: 'conversion' });
  });
});

describe('replay', () => {
  it('re-sends a window from the archive; Mixpanel keeps one copy per event id', async () => {
    const d = await destination('mixpanel');
    const person = uid('replayed');
    await grant(person, { analytics: true });
    const base = Date.now() - 3 * 3_600_000;
    const events = Array.from({ length: 12 }, (_, i) =>
      sampleEvent({
        eventId: uid('r'),
        personKey: person,
        userId: person,
        eventTime: new Date(base + i * 20 * 60_000).toISOString(),
      }),
    );
    const now = new Date();
    // Delivered once already (live), then replayed over the whole window.
    await outbox.enqueue(
      events.map((e) => ({ destinationId: d.destinationId, message: eventMessage(e) })),
      now,
      now,
    );
    await drainAll(d, now);
    const before = mixpanel.duplicates;
    await destinations.createReplay({
      destinationId: d.destinationId,
      replayId: 'r1',
      from: new Date(base).toISOString(),
      to: new Date(base + 4 * 3_600_000).toISOString(),
      cursor: new Date(base).toISOString(),
      enqueued: 0,
      status: 'running',
      createdAt: now.toISOString(),
    });
    const steps = await stepReplays(
      { destinations, outbox, archive: memoryArchive(events, 5) },
      [d],
      now,
      Date.now() + 30_000,
    );
    expect(steps).toEqual([{ destinationId: d.destinationId, replayId: 'r1', enqueued: 12, status: 'done' }]);
    await drainAll(d, now);
    for (const e of events) expect(mixpanel.imported.has(e.eventId)).toBe(true);
    expect(mixpanel.duplicates - before).toBe(12);
    const [job] = await destinations.replays(d.destinationId);
    expect(job).toMatchObject({ status: 'done', enqueued: 12 });
    // Without an archive, a replay fails and says why.
    await destinations.createReplay({
      ...(job as ReplayJob),
      replayId: 'r2',
      status: 'running',
      enqueued: 0,
    });
    const none = await stepReplays({ destinations, outbox, archive: undefined }, [d], now, Date.now() + 1000);
    expect(none[0]?.status).toBe('failed');
  });
});

describe('GA4, Braze and HubSpot against their documented contracts', () => {
  const fakes: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const f of fakes) await f.close();
  });
  /** A consented person whose id is `id`, and `n` events of theirs. */
  const eventsOf = async (id: string, n: number, over: Partial<CanonicalEvent> = {}) => {
    await grant(id, { analytics: true, marketing: true });
    return Array.from({ length: n }, (_, i) =>
      eventMessage(
        sampleEvent({
          eventId: uid(`g${i}`),
          personKey: id,
          userId: id,
          eventTime: new Date().toISOString(),
          ...over,
        }),
      ),
    );
  };
  const sendAll = async (d: Destination, messages: OutboundMessage[]) => {
    const now = new Date();
    await outbox.enqueue(
      messages.map((message) => ({ destinationId: d.destinationId, message })),
      now,
      now,
    );
    await drainAll(d, now);
    return itemsOf(d.destinationId);
  };

  it('GA4: valid events collected in requests of at most 25; what GA4 would drop silently is dead, never sent', async () => {
    const ga = await startFakeGa4({ measurementId: 'G-TEST123', apiSecret: 'sekret' });
    fakes.push(ga);
    const d = await destination(
      'ga4',
      { settings: { measurementId: 'G-TEST123', baseUrl: ga.url } },
      { apiSecret: 'sekret' },
    );
    const person = uid('ga-person');
    const good = await eventsOf(person, 30, {
      properties: { plan: 'pro', 'bad key': 'x', long: 'y'.repeat(300) },
    });
    const old = await eventsOf(person, 1, { eventTime: new Date(Date.now() - 80 * 3_600_000).toISOString() });
    const items = await sendAll(d, [...good, ...old]);
    expect(ga.dropped).toBe(0);
    expect(ga.requests).toBe(2);
    expect(ga.collected).toHaveLength(30);
    expect(ga.collected[0]).toMatchObject({ clientId: person, userId: person, name: 'pulse_click' });
    expect(String(ga.collected[0]?.params.long).length).toBe(100);
    const dead = items.filter((i) => i.state === 'dead');
    expect(dead.map((i) => i.lastError)).toEqual(['event older than the 72 hours GA4 accepts']);
  });

  it('Braze: 75 objects per request, events and segment attributes; refused objects dead, the rest delivered', async () => {
    const braze = await startFakeBraze('braze-key');
    fakes.push(braze);
    const d = await destination(
      'braze',
      { settings: { baseUrl: braze.url }, audiences: ['vip'], consentPurpose: 'marketing', filter: {} },
      { apiKey: 'braze-key' },
    );
    const person = uid('braze-person');
    const events = await eventsOf(person, 80);
    // A member indeed: an audience message the membership moved past is never sent (superseded).
    await new TagsRepository(db, emulators.names.tables.tags).addManualTags(person, ['vip'], new Date());
    const joined: OutboundMessage = {
      messageId: uid('seg'),
      kind: 'segment.entered',
      at: new Date().toISOString(),
      personKey: person,
      userId: person,
      segment: 'vip',
    };
    const broken = { ...(events[0] as OutboundMessage), messageId: uid('broken'), at: 'not a time' };
    const items = await sendAll(d, [...events, joined, broken]);
    expect(braze.requests).toBe(2);
    expect(braze.events).toHaveLength(80);
    expect(braze.segments.get(person)).toEqual(new Set(['vip']));
    const dead = items.filter((i) => i.state === 'dead');
    expect(dead.map((i) => i.messageId)).toEqual([broken.messageId]);
    expect(String(dead[0]?.lastError)).toContain('invalid name, time or identifier');
  });

  it('HubSpot: behavioural events by e-mail; a 207 refuses the invalid input only; people without an e-mail are refused before sending', async () => {
    const hub = await startFakeHubspot('hub-token');
    fakes.push(hub);
    const d = await destination(
      'hubspot',
      { settings: { mode: 'events', eventName: 'pe123_pulse_click', baseUrl: hub.url } },
      { accessToken: 'hub-token' },
    );
    const ann = await eventsOf(`${uid('ann')}@example.com`, 3);
    const invalid = await eventsOf(`${uid('bob')}@nodot`, 1);
    const noEmail = await eventsOf(uid('carl'), 1);
    const items = await sendAll(d, [...ann, ...invalid, ...noEmail]);
    expect(hub.events.map((e) => e.uuid).sort()).toEqual(ann.map((m) => m.messageId).sort());
    const states = Object.fromEntries(items.map((i) => [i.messageId, [i.state, i.lastError]]));
    expect(states[invalid[0]?.messageId as string]).toEqual(['dead', '207 Invalid email']);
    expect(states[noEmail[0]?.messageId as string]?.[0]).toBe('dead');
    for (const m of ann) expect(states[m.messageId]?.[0]).toBe('delivered');
  });
});

describe('per-person order across rounds', () => {
  type Fault = '503' | '429' | 'hang';
  const toFault = (f: Fault) =>
    f === 'hang' ? { hang: true as const } : { status: Number(f), headers: { 'retry-after': '30' } };
  const action = fc.record({
    person: fc.integer({ min: 0, max: 1 }),
    op: fc.constantFrom<'events' | 'enter' | 'leave'>('events', 'enter', 'leave'),
    count: fc.integer({ min: 1, max: 3 }),
    segment: fc.constantFrom(0, 0, 1),
    redeliver: fc.boolean(),
    redrive: fc.boolean(),
  });

  it('a round holding only a person’s later message takes the earlier due one too, and waits behind one not due', async () => {
    const hub = await startFakeHubspot('hub-token');
    try {
      const person = `${uid('cut')}@example.com`;
      const d = await destination(
        'hubspot',
        { settings: { mode: 'properties', baseUrl: hub.url, batchSize: 1 }, consentPurpose: 'analytics' },
        { accessToken: 'hub-token' },
      );
      const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
      const message = (eventTime: string) =>
        eventMessage(sampleEvent({ eventId: uid('cut'), personKey: person, userId: person, eventTime }));
      const [m1, m2, m3] = [message(at(3000)), message(at(2000)), message(at(1000))];
      await grant(person, { analytics: true });
      const now = new Date();
      const entries = [m1, m2].map((message) => ({
        destinationId: d.destinationId,
        message: message as OutboundMessage,
      }));
      const [, stored2] = await outbox.enqueue(entries, now, now);
      // The redrive's page returned only m2 (a claim limit): m1, due too, is taken and goes first.
      const lease = new Date(now.getTime() + 120_000);
      expect(await outbox.claim(stored2 as never, lease)).toBe(true);
      const round = await deliverRound(deps(), d, [stored2 as never], now, lease);
      expect(round).toMatchObject({ delivered: 2, held: 0 });
      expect([...hub.contacts.values()].map((c) => c.pulse_last_seen_at)).toEqual([m2?.at]);
      // A later message while an earlier one waits, not due: the consumer's first attempt waits behind it.
      hub.faults.push({ status: 503, headers: { 'retry-after': '600' } });
      const [failing] = await outbox.enqueue(
        [{ destinationId: d.destinationId, message: m3 as OutboundMessage }],
        now,
        now,
      );
      await deliverRound(deps(), d, [failing as never], now, lease);
      const m4 = message(at(0));
      const first = await deliverRound(deps(), d, [unstoredItem(d.destinationId, m4, now)], now);
      expect(first).toMatchObject({ delivered: 0, held: 1 });
      const waiting = (await outbox.pendingFor(person, d.destinationId)).map((i) => [
        i.message.messageId,
        i.dueAt,
      ]);
      const due3 = waiting.find(([id]) => id === m3?.messageId)?.[1];
      expect(waiting).toContainEqual([m4.messageId, due3]);
      expect(Date.parse(due3 as string)).toBeGreaterThanOrEqual(now.getTime() + 600_000);
    } finally {
      await hub.close();
    }
  });

  it('HubSpot properties never get a person’s message before an earlier one; Braze’s audiences end as the memberships', async () => {
    const hub = await startFakeHubspot('hub-token');
    const braze = await startFakeBraze('braze-key');
    const triggers = new MembershipTriggers(
      db,
      emulators.names.tables.destinations,
      emulators.names.tables.outbox,
      0,
    );
    const tags = new TagsRepository(db, emulators.names.tables.tags, triggers);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(action, { minLength: 1, maxLength: 12 }),
          fc.array(fc.constantFrom<Fault>('503', '429', 'hang'), { maxLength: 5 }),
          fc.array(fc.constantFrom<Fault>('503', '429', 'hang'), { maxLength: 5 }),
          fc.array(fc.constantFrom<Fault>('503', '429', 'hang'), { maxLength: 5 }),
          async (actions, hubFaults, brazeFaults, hookFaults) => {
            const segments = [uid('seg'), uid('seg')];
            const persons = [`${uid('pa')}@example.com`, `${uid('pb')}@example.com`];
            for (const p of persons) await grant(p, { analytics: true, marketing: true });
            // Braze audiences update existing profiles only (the customer's app created them).
            for (const p of persons) braze.profiles.add(`external_id:${p}`);
            const audience = { audiences: segments, consentPurpose: 'marketing' as const, filter: {} };
            const hubD = await destination(
              'hubspot',
              // One message per request: a person's later request must wait for an earlier one's retry.
              { settings: { mode: 'properties', baseUrl: hub.url, batchSize: 1 }, ...audience },
              { accessToken: 'hub-token' },
            );
            const brazeD = await destination(
              'braze',
              { settings: { baseUrl: braze.url }, ...audience },
              { apiKey: 'braze-key' },
            );
            // A webhook keeps no order: only supersession keeps its receiver's audiences right.
            const hookD = await destination('webhook', {
              ...audience,
              filter: { kinds: ['segment.entered', 'segment.left'] },
            });
            webhook.faults.splice(0, Infinity, ...hookFaults.map(toFault));
            hub.faults.splice(0, Infinity, ...hubFaults.map(toFault));
            braze.faults.splice(0, Infinity, ...brazeFaults.map(toFault));
            // What HubSpot applied, in order: each contact's `pulse_last_seen_at` (the message time).
            const seen = new Map<string, string[]>(persons.map((p) => [p, []]));
            const dd = deps({
              send: async (r) => {
                const answer = await sendRequest(r, 300);
                if ('url' in r && r.url.startsWith(hub.url) && 'status' in answer && answer.status < 300)
                  for (const input of (
                    JSON.parse(r.body) as { inputs: { id: string; properties: Record<string, string> }[] }
                  ).inputs)
                    seen.get(input.id)?.push(input.properties.pulse_last_seen_at as string);
                return answer;
              },
            });
            let offset = 0;
            const clock = () => new Date(Date.now() + offset);
            const events: OutboundMessage[] = [];
            for (const a of actions) {
              const person = persons[a.person] as string;
              const segment = segments[a.segment] as string;
              if (a.op === 'events') {
                const t = Date.now();
                const batch = Array.from({ length: a.count }, (_, i) =>
                  eventMessage(
                    sampleEvent({
                      eventId: uid('ord'),
                      personKey: person,
                      userId: person,
                      eventTime: new Date(t + i).toISOString(),
                    }),
                  ),
                );
                events.push(...batch);
                // The consumer's first attempt, and maybe the stream's redelivery of the same batch.
                const now = clock();
                for (let k = 0; k < (a.redeliver ? 2 : 1); k++)
                  for (const d of [hubD, brazeD])
                    await deliverRound(
                      dd,
                      d,
                      batch.map((m) => unstoredItem(d.destinationId, m, now)),
                      now,
                    );
              } else if (a.op === 'enter') await tags.addManualTags(person, [segment], new Date());
              else await tags.removeManualTag(person, segment);
              if (a.redrive)
                await drainDue({
                  deps: dd,
                  list: [hubD, brazeD, hookD],
                  now: clock(),
                  deadline: Date.now() + 30_000,
                });
              offset += 20_000;
            }
            hub.faults.length = 0;
            braze.faults.length = 0;
            webhook.faults.length = 0;
            for (const d of [hubD, brazeD, hookD]) await drainAll(d, clock(), dd);

            const members = await new SegmentSizes(db, emulators.names.tables.tags).committed(
              persons.flatMap((personKey) => segments.map((segment) => ({ segment, personKey }))),
            );
            for (const p of persons) {
              const applied = seen.get(p) as string[];
              // First deliveries in time order: no message ever overtook an earlier one of its person…
              const firsts = applied.filter((at, i) => applied.indexOf(at) === i);
              expect(firsts).toEqual([...firsts].sort());
              // …every event arrived, and the contact ends on the person's newest message.
              for (const m of events.filter((e) => e.personKey === p)) expect(applied).toContain(m.at);
              if (applied.length > 0) expect(hub.contacts.get(p)?.pulse_last_seen_at).toBe(firsts.at(-1));
              // Braze's audience attribute is the membership as it ended.
              expect([...(braze.segments.get(p) ?? [])].filter((s) => segments.includes(s)).sort()).toEqual(
                segments.filter((s) => members.has(membershipKey(s, p))).sort(),
              );
              // So is the webhook receiver's, replaying what it got in arrival order.
              const view = new Set<string>();
              for (const m of webhook.messages.filter(
                (w) => w.personKey === p && segments.includes(w.segment as string),
              ))
                if (m.kind === 'segment.entered') view.add(m.segment as string);
                else view.delete(m.segment as string);
              expect([...view].sort()).toEqual(
                segments.filter((s) => members.has(membershipKey(s, p))).sort(),
              );
            }
          },
        ),
        { numRuns: 8 },
      );
    } finally {
      await hub.close();
      await braze.close();
    }
  }, 300_000);
});
