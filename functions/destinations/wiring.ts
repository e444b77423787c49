/**
 * What the destinations consumer and the redrive share, built once per container: repositories,
 * the credential store, the pacer, and the destinations list (cached briefly: a new or changed
 * destination is picked up within DESTINATIONS_CACHE_MS; consent is never cached).
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { Cached } from '../adapters/cached';
import { ConsentRepository } from '../adapters/consent-repository';
import { destinationSecrets } from '../adapters/destination-secrets';
import { DestinationsRepository } from '../adapters/destinations-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { MetricUnit, metrics } from '../adapters/observability';
import { OutboxRepository } from '../adapters/outbox-repository';
import { SegmentSizes } from '../adapters/segment-sizes';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { sendRequest } from '../adapters/vendor-transport';
import { DELIVERABLE_TYPES, type Destination } from '../core/destinations/definition';
import { type DeliverDeps, Pacer, type Round } from './deliver';

export const DESTINATIONS_CACHE_MS = 10_000;

const db = documentClient();
export const destinations = new DestinationsRepository(db, requireEnv(tables.destinations.envVar));
export const outbox = new OutboxRepository(db, requireEnv(tables.outbox.envVar));
const identity = new IdentityReader(db, requireEnv(tables.users.envVar));
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const memberships = new SegmentSizes(db, requireEnv(tables.tags.envVar));
const secrets = destinationSecrets();
const pace = new Pacer();

export const enabledDestinations = new Cached(
  async (): Promise<Destination[]> =>
    (await destinations.list()).filter((d) => d.enabled && DELIVERABLE_TYPES.includes(d.type)),
  DESTINATIONS_CACHE_MS,
);

export const deliverDeps = async (): Promise<DeliverDeps> => ({
  outbox,
  destinations,
  secrets,
  consent,
  linkedIds: async (personKey) => (await identity.linkedIds(personKey)).map((l) => l.anonymousId),
  key: await signingKey(),
  consentRequired: settings.consentRequired,
  send: sendRequest,
  pace,
  committedMembers: (pairs) => memberships.committed(pairs),
});

/**
 * One metric with the `Destination` dimension (beside Powertools' service and stage): what the
 * per-destination alarms group by (lib/constructs/observability.ts watchDestinations). A single
 * metric is flushed at its addMetric and forgets its dimensions then, so each gets its own.
 */
const perDestination = (
  destinationId: string,
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
): void => {
  const m = metrics.singleMetric();
  m.addDimension('Destination', destinationId);
  m.addMetric(name, unit, value);
};

/** What a delivery round did, per destination. */
export const countRound = (destinationId: string, round: Round): void => {
  const counts: [string, number][] = [
    ['Delivered', round.delivered],
    ['DeliveryRetried', round.retried],
    ['DeliveryDead', round.dead],
    ['DeliveryConsentDropped', round.consentDropped],
    ['DeliverySuperseded', round.superseded],
    ['DeliveryHeld', round.held],
    ...(round.pausedNow ? [['DestinationPaused', 1] as [string, number]] : []),
  ];
  for (const [name, n] of counts) perDestination(destinationId, name, MetricUnit.Count, n);
};

/** How overdue the oldest message a redrive took for a destination was (its backlog alarm). */
export const countOverdue = (destinationId: string, seconds: number): void =>
  perDestination(destinationId, 'OutboxOverdueSeconds', MetricUnit.Seconds, seconds);
