/**
 * The destinations consumer: a second reader of the stream with its own event source mapping
 * (lib/stream.ts destinationsConsumer), so a slow vendor never delays the read models. Per batch:
 * decode, match each event against every enabled destination's filter, and try each destination
 * once (consent checked first). Only what that attempt did not deliver is written to the outbox,
 * for the redrive's retries (or dead, with the vendor's answer) — and, for a destination that keeps
 * a person's order, what waits behind the person's earlier message still in the outbox (found by a
 * read): the happy path writes nothing per event. The batch fails (and Lambda redelivers it) only when that write fails — never because a
 * vendor did; a redelivered record is sent again, which the vendors' idempotency keys absorb.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { unstoredItem } from '../adapters/outbox-repository';
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
  const deps = await deliverDeps();
  let stored = 0;
  await Promise.all(
    list.map(async (d) => {
      const mine = entries.filter((e) => e.destinationId === d.destinationId);
      if (mine.length === 0) return;
      // A paused destination gets its messages stored, due now: the redrive sends them once resumed.
      if (await destinations.isPaused(d.destinationId)) {
        stored += (await outbox.enqueue(mine, now, now)).length;
        return;
      }
      const round = await deliverRound(
        deps,
        d,
        mine.map((e) => unstoredItem(e.destinationId, e.message, now)),
        now,
      );
      stored += round.retried + round.dead + round.held;
      countRound(d.destinationId, round);
      if (round.pausedNow)
        logger.warn('destination paused by its circuit breaker', {
          destinationId: d.destinationId,
          error: round.error,
        });
    }),
  );
  metrics.addMetric('OutboxStored', MetricUnit.Count, stored);
  return { batchItemFailures: [] };
};

export const handler = middy(consume).use(injectLambdaContext(logger)).use(logMetrics(metrics));
