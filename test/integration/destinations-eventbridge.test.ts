/**
 * The eventbridge destination through the real AWS SDK against the local PutEvents endpoint
 * (lib/local/eventbridge.ts): the protocol and limits as AWS answers them, a throttled request and a
 * partial failure told to the endpoint, and whole delivery rounds over dynalite's outbox, where the
 * throttled and failed entries wait and the redrive delivers them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentRepository } from '../../functions/adapters/consent-repository';
import { FolderSecretsStore } from '../../functions/adapters/destination-secrets';
import { DestinationsRepository } from '../../functions/adapters/destinations-repository';
import { ErasureRequests } from '../../functions/adapters/erasure-requests';
import { putEventsWith } from '../../functions/adapters/eventbridge-transport';
import { OutboxRepository, unstoredItem } from '../../functions/adapters/outbox-repository';
import { SegmentSizes } from '../../functions/adapters/segment-sizes';
import type { Destination } from '../../functions/core/destinations/definition';
import { erasedPerson } from '../../functions/core/destinations/deletion';
import { eventMessage, type OutboundMessage, RETRY } from '../../functions/core/destinations/delivery';
import { ERASURE_DETAIL_TYPE, isPutEventsCall } from '../../functions/core/destinations/eventbridge';
import { vendorFor } from '../../functions/core/destinations/vendors';
import { type DeliverDeps, deliverRound, Pacer } from '../../functions/destinations/deliver';
import { type ForwardDeps, forwardDue, requestDeletions } from '../../functions/destinations/forward-erasure';
import { drainDue } from '../../functions/destinations/redrive-steps';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { type LocalEventBridge, startLocalEventBridge } from '../../lib/local/eventbridge';
import { sampleEvent } from '../support/destinations';

let bus: LocalEventBridge;
let busDir: string;
let client: EventBridgeClient;
let put: ReturnType<typeof putEventsWith>;
let emulators: Emulators;
let secretsDir: string;
let db: DynamoDBDocumentClient;
/** The repositories a delivery round writes through, on dynalite. */
let destinations: DestinationsRepository, outbox: OutboxRepository, consent: ConsentRepository;
let n = 0;
const uid = (name: string) => `${name}-${++n}`;

beforeAll(async () => {
  busDir = mkdtempSync(join(tmpdir(), 'pulse-eventbridge-'));
  bus = await startLocalEventBridge({ dir: busDir, region: 'us-east-1', account: '000000000000' });
  client = new EventBridgeClient({
    endpoint: bus.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  put = putEventsWith(() => client);
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  destinations = new DestinationsRepository(db, emulators.names.tables.destinations);
  outbox = new OutboxRepository(db, emulators.names.tables.outbox);
  consent = new ConsentRepository(db, emulators.names.tables.consent);
  secretsDir = mkdtempSync(join(tmpdir(), 'pulse-eventbridge-secrets-'));
});
const busDestination = (
  destinationId: string,
  settings: Record<string, unknown>,
  enabled = true,
): Destination => ({
  destinationId,
  type: 'eventbridge',
  enabled,
  filter: {},
  settings,
  consentPurpose: 'analytics',
  audiences: [],
  credentialFields: [],
  createdAt: '',
  updatedAt: '',
});

afterAll(async () => {
  client?.destroy();
  await bus?.close();
  await emulators?.close();
  rmSync(busDir, { recursive: true, force: true });
  rmSync(secretsDir, { recursive: true, force: true });
});

const codec = vendorFor('eventbridge');
const messages = (count: number, person = uid('person')): OutboundMessage[] =>
  Array.from({ length: count }, (_, i) =>
    eventMessage(
      sampleEvent({
        eventId: uid(`ev${i}`),
        personKey: person,
        userId: person,
        eventTime: new Date(Date.now() - 60_000 + i).toISOString(),
      }),
    ),
  );

/** Prepares, sends each request through the SDK, and interprets: one outcome kind per message id. */
const deliver = async (busName: string, ms: OutboundMessage[]) => {
  const { requests, rejected } = codec.prepare({ eventBusName: busName }, {}, ms, new Date());
  const out = new Map<string, string>(rejected.map((r) => [r.messageId, 'rejected']));
  for (const p of requests)
    for (const [id, o] of codec.interpret(p, await put(p.request, 5_000), Date.now())) out.set(id, o.kind);
  return out;
};

describe('PutEvents through the SDK', () => {
  it('delivers batches of 10 to the bus file, as the events a rule target receives', async () => {
    const busName = uid('orders');
    const ms = messages(23);
    const out = await deliver(busName, ms);
    expect([...out.values()].every((k) => k === 'delivered')).toBe(true);
    const events = bus.events(busName);
    expect(events.map((e) => (e.detail as { id: string }).id)).toEqual(ms.map((m) => m.messageId));
    expect(events[0]).toMatchObject({
      version: '0',
      'detail-type': 'Pulse Event',
      source: 'pulse',
      account: '000000000000',
      region: 'us-east-1',
      detail: { kind: 'event', event: { type: 'click' } },
    });
    // Time went through the SDK as epoch seconds and came back at EventBridge's second precision.
    expect(events[0]?.time).toBe(`${(ms[0] as OutboundMessage).at.slice(0, 19)}Z`);
  });

  it('files a bus named by ARN under its name', async () => {
    const name = uid('arn-bus');
    await deliver(`arn:aws:events:us-east-1:000000000000:event-bus/${name}`, messages(1));
    expect(bus.events(name)).toHaveLength(1);
  });

  it('answers more than 10 entries, or 256 KB of them, with a ValidationException as AWS does', async () => {
    const entry = (detail: string) => ({
      Source: 'pulse',
      DetailType: 'Pulse Event',
      Detail: detail,
      EventBusName: 'limits',
    });
    await expect(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry('{}')) })),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    const big = `{"pad":"${'x'.repeat(131_100)}"}`;
    await expect(
      client.send(new PutEventsCommand({ Entries: [entry(big), entry(big)] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });
    // The codec never sends such a request, and reads the answer as permanent were one sent.
    const call = {
      api: 'eventbridge:PutEvents' as const,
      entries: Array.from({ length: 11 }, () => ({ ...entry('{}'), Time: new Date().toISOString() })),
    };
    const answer = await put(call, 5_000);
    expect(answer).toMatchObject({ status: 400 });
    expect(bus.events('limits')).toEqual([]);
  });

  it('reads a throttled request as a retry the breaker does not count, and a partial failure per entry', async () => {
    const busName = uid('throttled');
    bus.failNext({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    const first = messages(3);
    const throttled = await deliver(busName, first);
    expect([...throttled.values()]).toEqual(['retry', 'retry', 'retry']);
    expect(bus.events(busName)).toEqual([]);

    bus.failNext({ entries: { 1: 'InternalFailure', 2: 'MalformedDetail' } });
    const partial = await deliver(busName, first);
    expect(first.map((m) => partial.get(m.messageId))).toEqual(['delivered', 'retry', 'rejected']);
    expect(bus.events(busName).map((e) => (e.detail as { id: string }).id)).toEqual([first[0]?.messageId]);
  });

  it('reads a refused connection as a network failure, retried', async () => {
    const closed = putEventsWith(
      () =>
        new EventBridgeClient({
          endpoint: 'http://127.0.0.1:9',
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          maxAttempts: 1,
        }),
    );
    const p = codec.prepare({ eventBusName: 'b' }, {}, messages(1), new Date()).requests[0];
    if (!p) throw new Error('no request');
    const answer = await closed(p.request, 5_000);
    expect(answer).toMatchObject({ failure: 'network' });
    expect([...codec.interpret(p, answer, Date.now()).values()][0]?.kind).toBe('retry');
  });
});

describe('delivery rounds to a bus', () => {
  const deps = (): DeliverDeps => ({
    outbox,
    destinations,
    secrets: new FolderSecretsStore(secretsDir, 'pulse/test/destinations/'),
    consent,
    linkedIds: async () => [],
    committedMembers: (pairs) => new SegmentSizes(db, emulators.names.tables.tags).committed(pairs),
    key: new Uint8Array(32).fill(7),
    consentRequired: true,
    send: async (r) => {
      if (!isPutEventsCall(r)) throw new Error('only PutEvents here');
      return put(r, 5_000);
    },
    pace: new Pacer(),
  });

  it('keeps what the bus throttled or failed in the outbox and delivers it on the redrive; a malformed entry is dead', async () => {
    const busName = uid('rounds');
    const d = busDestination(uid('eb'), { eventBusName: busName });
    await destinations.put(d);
    const person = uid('person');
    await consent.record(person, { purposes: { analytics: true }, policyVersion: 'v1' }, 'src', new Date());
    const ms = messages(13, person);
    // First request (10 entries) throttled whole; the second (3) fails one entry for good, one for now.
    bus.failNext({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    bus.failNext({ entries: { 0: 'MalformedDetail', 1: 'InternalFailure' } });
    const now = new Date();
    const round = await deliverRound(
      deps(),
      d,
      ms.map((m) => unstoredItem(d.destinationId, m, now)),
      now,
    );
    expect(round).toMatchObject({ delivered: 1, dead: 1, retried: 11 });
    // Throttling is the bus pacing us: the breaker is not moved by it.
    expect((await destinations.status(d.destinationId)).consecutiveFailures ?? 0).toBe(0);

    let at = new Date(now.getTime() + 3_600_000);
    for (let i = 0; i < 10 && (await outbox.waiting(d.destinationId)).count > 0; i++) {
      await drainDue({ deps: deps(), list: [d], now: at, deadline: Date.now() + 30_000 });
      at = new Date(at.getTime() + 3_600_000);
    }
    expect((await outbox.waiting(d.destinationId)).count).toBe(0);
    const received = bus.events(busName).map((e) => (e.detail as { id: string }).id);
    expect(new Set(received)).toEqual(new Set(ms.filter((m) => m !== ms[10]).map((m) => m.messageId)));
    const items = (
      (await db.send(new ScanCommand({ TableName: emulators.names.tables.outbox }))).Items ?? []
    ).filter((i) => i.destinationId === d.destinationId);
    expect(items.find((i) => i.state === 'dead')?.lastError).toContain('MalformedDetail');
  });
});

describe('erasure forwarded to a bus', () => {
  it('puts one Pulse Person Erased event on the destination bus, retried after a throttle, and drops the ids', async () => {
    const busName = uid('erasures');
    const d = busDestination(uid('eb-erase'), { eventBusName: busName, source: 'acme.pulse' }, false);
    await destinations.put(d);
    const requests = new ErasureRequests(db, emulators.names.tables.outbox);
    const forwardDeps: ForwardDeps = {
      requests,
      destinations,
      secrets: new FolderSecretsStore(secretsDir, 'pulse/test/destinations/'),
      send: async (r) => {
        if (!isPutEventsCall(r)) throw new Error('only PutEvents here');
        return put(r, 5_000);
      },
      pace: new Pacer(),
    };
    const person = erasedPerson(randomUUID(), new Date(), 'ada@example.com', 'ada@example.com', ['anon-ada']);
    const now = new Date();
    await requestDeletions(requests, [d], person, now);

    bus.failNext({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    await forwardDue(forwardDeps, now, Date.now() + 30_000);
    expect(bus.events(busName)).toEqual([]);
    expect((await requests.status(person.erasureId))[0]?.status).toBe('requested');

    // The retry, once due (full jitter: within the first backoff's ceiling).
    await forwardDue(forwardDeps, new Date(now.getTime() + RETRY.capMs), Date.now() + 30_000);
    const events = bus.events(busName);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: 'acme.pulse',
      'detail-type': ERASURE_DETAIL_TYPE,
      detail: {
        erasureId: person.erasureId,
        personKey: 'ada@example.com',
        ids: ['ada@example.com', 'anon-ada'],
      },
    });
    const [status] = await requests.status(person.erasureId);
    expect(status).toMatchObject({ destinationId: d.destinationId, status: 'delivered', attempts: 2 });
    expect(JSON.stringify(status)).not.toContain('ada@example.com');
  });
});
