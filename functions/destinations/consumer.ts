/**
 * The destinations consumer: a second reader of the stream with its own event source mapping
 * (lib/stream.ts destinationsConsumer), so a slow vendor never delays the read models. Per batch:
 * decode, match each event against every enabled destination's filter, enqueue the matches in the
 * outbox (put-if-absent: a redelivered batch enqueues nothing twice), then try each destination
 * once. What fails stays in the outbox for the redrive; a batch fails only when it could not be
 * enqueued, and is then redelivered whole.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { LEASE_MS } from '../adapters/outbox-repository';
import { TagsRepository } from '../adapters/tags-repository';
import { matchesFilter } from '../core/destinations/definition';
import { eventMessage, type OutboundMessage } from '../core/destinations/delivery';
import { decodeCanonical } from '../core/envelope';
import { deliverRound } from './deliver';
import { countRound, deliverDeps, destinations, enabledDestinations, outbox } from './wiring';

const tags = new TagsRepository(documentClient(), requireEnv(tables.tags.envVar));

/** Decoded events of a batch; records that do not decode are the aggregate consumer's to quarantine. */
const decode = (event: KinesisStreamEvent) => {
  let undecodable = 0;
  const messages: OutboundMessage[] = [];
  for (const r of event.Records) {
    const out = decodeCanonical(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
    if (out.ok) messages.push(eventMessage(out.event));
    else undecodable++;
  }
  return { messages, undecodable };
};

const consume = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  const now = new Date();
  const { messages, undecodable } = decode(event);
  const list = await enabledDestinations.get();
  if (undecodable > 0) metrics.addMetric('DestinationRecordsUndecodable', MetricUnit.Count, undecodable);
  if (list.length === 0 || messages.length === 0) return { batchItemFailures: [] };

  // Tags only for people whose events meet a filter naming segments.
  const needTags = list.some((d) => d.filter.segments !== undefined);
  const persons = needTags ? [...new Set(messages.map((m) => m.personKey as string))] : [];
  const tagsOf = new Map(
    await Promise.all(
      persons.map(async (p) => [p, new Set((await tags.personTags(p)).map((t) => t.tag))] as const),
    ),
  );
  const entries = list.flatMap((d) =>
    messages
      .filter((m) =>
        matchesFilter(
          d,
          {
            kind: 'event',
            type: m.event?.type,
            campaignId: m.event?.campaignId,
            channel: m.event?.channel,
          } as Parameters<typeof matchesFilter>[1],
          tagsOf.get(m.personKey as string),
        ),
      )
      .map((message) => ({ destinationId: d.destinationId, message })),
  );
  // Held for this invocation's attempt; the redrive takes over what is still held after the lease.
  const enqueued = await outbox.enqueue(entries, new Date(now.getTime() + LEASE_MS), now);
  metrics.addMetric('OutboxEnqueued', MetricUnit.Count, enqueued.length);

  const deps = await deliverDeps();
  await Promise.all(
    list.map(async (d) => {
      const mine = enqueued.filter((i) => i.destinationId === d.destinationId);
      if (mine.length === 0) return;
      try {
        if (await destinations.isPaused(d.destinationId)) return;
        const round = await deliverRound(deps, d, mine, now);
        countRound(d.destinationId, round);
        if (round.pausedNow)
          logger.warn('destination paused by its circuit breaker', {
            destinationId: d.destinationId,
            error: round.error,
          });
      } catch (error) {
        // Enqueued already: the redrive delivers after the lease. Logged and counted, not lost.
        logger.error('delivery round failed; the redrive retries it', {
          destinationId: d.destinationId,
          error,
        });
        metrics.addMetric('DeliveryRoundErrors', MetricUnit.Count, 1);
      }
    }),
  );
  return { batchItemFailures: [] };
};

export const handler = middy(consume).use(injectLambdaContext(logger)).use(logMetrics(metrics));
