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

/** Per-destination metrics: the alarms (lib/constructs/observability.ts watchDestinations) group them by destination. */
export const countRound = (destinationId: string, round: Round): void => {
  const m = metrics.singleMetric();
  m.addDimension('Destination', destinationId);
  m.addMetric('Delivered', MetricUnit.Count, round.delivered);
  m.addMetric('DeliveryRetried', MetricUnit.Count, round.retried);
  m.addMetric('DeliveryDead', MetricUnit.Count, round.dead);
  m.addMetric('DeliveryConsentDropped', MetricUnit.Count, round.consentDropped);
  m.addMetric('DeliverySuperseded', MetricUnit.Count, round.superseded);
  m.addMetric('DeliveryHeld', MetricUnit.Count, round.held);
  if (round.pausedNow) m.addMetric('DestinationPaused', MetricUnit.Count, 1);
};

/** How overdue the oldest message a redrive took for a destination was (its backlog alarm). */
export const countOverdue = (destinationId: string, seconds: number): void => {
  const m = metrics.singleMetric();
  m.addDimension('Destination', destinationId);
  m.addMetric('OutboxOverdueSeconds', MetricUnit.Seconds, seconds);
};
