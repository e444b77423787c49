/**
 * What per-person order costs the destinations consumer (docs/destinations.md, "Order"): its first
 * attempts, batch by batch, to a HubSpot destination in `properties` mode (ordered: one consistent
 * Query of each person's outbox partition per batch before sending) against the same fake HubSpot in
 * `events` mode (not ordered), against dynalite. Same events, people, batches and vendor; both
 * deliver everything and store nothing (the happy path writes nothing). The ratio is the ordered
 * consumer's time per batch over the unordered one's, measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConsentRepository } from '../functions/adapters/consent-repository';
import { FolderSecretsStore } from '../functions/adapters/destination-secrets';
import { DestinationsRepository } from '../functions/adapters/destinations-repository';
import { ensureHubspotProperties } from '../functions/adapters/hubspot-properties';
import { OutboxRepository, unstoredItem } from '../functions/adapters/outbox-repository';
import { SegmentSizes } from '../functions/adapters/segment-sizes';
import { sendRequest } from '../functions/adapters/vendor-transport';
import type { Destination } from '../functions/core/destinations/definition';
import { eventMessage } from '../functions/core/destinations/delivery';
import { type DeliverDeps, deliverRound, Pacer } from '../functions/destinations/deliver';
import { startEmulators } from '../lib/local/emulators';
import { sampleEvent } from '../test/support/destinations';
import { startFakeHubspot } from '../test/support/fake-vendors/hubspot';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const round = (n: number) => Math.round(n * 10) / 10;

export const destinationsOrderBench = async (
  options: { batches?: number; batch?: number; people?: number } = {},
) => {
  const batches = options.batches ?? 20;
  const batchSize = options.batch ?? 100;
  const people = Array.from({ length: options.people ?? 50 }, (_, i) => `bench-order-${i}@example.com`);
  const emulators = await startEmulators({ env: {} });
  const hub = await startFakeHubspot('hub-token');
  const secretsDir = mkdtempSync(join(tmpdir(), 'pulse-order-bench-'));
  try {
    const db = DynamoDBDocumentClient.from(emulators.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const names = emulators.names.tables;
    const destinations = new DestinationsRepository(db, names.destinations);
    const consent = new ConsentRepository(db, names.consent);
    const secrets = new FolderSecretsStore(secretsDir, 'pulse/bench/destinations/');
    const memberships = new SegmentSizes(db, names.tags);
    const deps: DeliverDeps = {
      outbox: new OutboxRepository(db, names.outbox),
      destinations,
      secrets,
      consent,
      linkedIds: async () => [],
      key: new Uint8Array(32).fill(7),
      consentRequired: true,
      send: (r) => sendRequest(r, 5000),
      pace: new Pacer(),
      committedMembers: (pairs) => memberships.committed(pairs),
    };
    const define = async (id: string, settings: Record<string, unknown>): Promise<Destination> => {
      const d: Destination = {
        destinationId: id,
        type: 'hubspot',
        enabled: true,
        filter: {},
        settings: { baseUrl: hub.url, ...settings },
        consentPurpose: 'analytics',
        audiences: [],
        credentialFields: [],
        createdAt: '',
        updatedAt: '',
      };
      await destinations.put(d);
      await secrets.write(id, { accessToken: 'hub-token' });
      // As the admin route does on save: the portal gets the properties the upserts name.
      if (settings.mode === 'properties') await ensureHubspotProperties(d.settings, 'hub-token', []);
      return d;
    };
    const ordered = await define('order-properties', { mode: 'properties' });
    const unordered = await define('order-events', { mode: 'events', eventName: 'pe1_pulse' });
    for (const p of people)
      await consent.record(p, { purposes: { analytics: true }, policyVersion: 'v1' }, 'src', new Date());
    const t0 = Date.now();
    const batchOf = (b: number) =>
      Array.from({ length: batchSize }, (_, i) => {
        const person = people[(b * batchSize + i) % people.length] as string;
        return eventMessage(
          sampleEvent({
            eventId: `order-${b}-${i}`,
            personKey: person,
            userId: person,
            eventTime: new Date(t0 + b * batchSize + i).toISOString(),
          }),
        );
      });
    const timings = { ordered: [] as number[], unordered: [] as number[] };
    let delivered = 0;
    for (let b = 0; b < batches; b++) {
      const messages = batchOf(b);
      // Alternate which goes first, so neither always meets a warmer emulator.
      const pair = b % 2 === 0 ? ([ordered, unordered] as const) : ([unordered, ordered] as const);
      for (const d of pair) {
        const now = new Date();
        const started = performance.now();
        const r = await deliverRound(
          deps,
          d,
          messages.map((m) => unstoredItem(d.destinationId, m, now)),
          now,
        );
        timings[d === ordered ? 'ordered' : 'unordered'].push(performance.now() - started);
        delivered += r.delivered;
      }
    }
    const stored = (await db.send(new ScanCommand({ TableName: names.outbox, Select: 'COUNT' }))).Count ?? 0;
    const orderedMs = median(timings.ordered);
    const unorderedMs = median(timings.unordered);
    return {
      batches,
      batchSize,
      peoplePerBatch: Math.min(batchSize, people.length),
      delivered,
      outboxItemsWritten: stored,
      orderedMsPerBatch: round(orderedMs),
      unorderedMsPerBatch: round(unorderedMs),
      ratio: Number((orderedMs / unorderedMs).toFixed(2)),
    };
  } finally {
    await hub.close();
    await emulators.close();
    rmSync(secretsDir, { recursive: true, force: true });
  }
};
