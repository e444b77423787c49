/**
 * Segment triggers: a person entering or leaving a segment becomes a message for every enabled
 * destination that follows the segment as an audience or asks for segment messages
 * (functions/core/destinations/definition.ts matchesFilter). Called at the one point where
 * memberships change (tag-memberships.ts); the messages wait in the outbox, due at once, for the
 * redrive — which checks consent (audiences need `marketing`) before anything leaves.
 *
 * Called before the change commits, with the change's own id (segment-sizes.ts): the message id
 * is that change, so every retry of it enqueues the same message, once.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lib/tables';
import { matchesFilter } from '../core/destinations/definition';
import type { OutboundMessage } from '../core/destinations/delivery';
import { Cached } from './cached';
import { DestinationsRepository } from './destinations-repository';
import { OutboxRepository } from './outbox-repository';

export type MembershipChange = 'entered' | 'left';

export class MembershipTriggers {
  private readonly destinations: Cached<Awaited<ReturnType<DestinationsRepository['list']>>>;
  private readonly outbox: OutboxRepository;

  constructor(db: DynamoDBDocumentClient, destinationsTable: string, outboxTable: string, cacheMs = 10_000) {
    const repo = new DestinationsRepository(db, destinationsTable);
    this.destinations = new Cached(async () => (await repo.list()).filter((d) => d.enabled), cacheMs);
    this.outbox = new OutboxRepository(db, outboxTable);
  }

  async changed(
    segment: string,
    personKey: string,
    change: MembershipChange,
    at: string,
    changeId: string,
  ): Promise<void> {
    const kind = change === 'entered' ? 'segment.entered' : 'segment.left';
    const following = (await this.destinations.get()).filter((d) => matchesFilter(d, { kind, segment }));
    if (following.length === 0) return;
    const message: OutboundMessage = {
      messageId: `seg:${segment}:${change}:${changeId}`,
      kind,
      at,
      personKey,
      segment,
    };
    const now = new Date();
    await this.outbox.enqueue(
      following.map((d) => ({ destinationId: d.destinationId, message })),
      now,
      now,
    );
  }
}

/** The triggers of a function whose environment names both tables (every deployed one); else none. */
export const membershipTriggersFromEnv = (
  db: DynamoDBDocumentClient,
  env: NodeJS.ProcessEnv = process.env,
): MembershipTriggers | undefined => {
  const destinations = env[tables.destinations.envVar];
  const outbox = env[tables.outbox.envVar];
  return destinations && outbox ? new MembershipTriggers(db, destinations, outbox) : undefined;
};
