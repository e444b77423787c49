/**
 * The archive's Firehose transformation (docs/archive.md). Firehose reads the stream and hands
 * each buffer of records here; what comes back `Ok` is converted to Parquet against the Glue table
 * and written to the event's `dt`/`hour` partition (the `partitionKeys` below).
 *
 * Only what the read models may see goes in: the same admission as the consumer's stages 2–4
 * (`admitReadOnly`: current consent and erasure markers, identity links) and an explicit column
 * list (`archiveRow`: no IP exists on the envelope, properties were minimised at ingest). An event
 * refused is `Dropped` (counted); a record that is not a canonical event is `ProcessingFailed`, which
 * Firehose keeps under the archive bucket's error prefix (the consumer quarantines it too).
 * A failed consent or identity read throws: Firehose retries the whole invocation.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type {
  FirehoseTransformationEvent,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
} from 'aws-lambda';
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { IdentityReader } from '../adapters/identity-reader';
import { logger, MetricUnit, metrics } from '../adapters/observability';
import { settings } from '../adapters/settings';
import { signingKey } from '../adapters/signing-key';
import { admitReadOnly, type ConsentGate } from '../aggregate/apply-batch';
import { archiveRow, partitionOf } from '../core/archive';
import { decodeCanonical } from '../core/envelope';
import { padSequence, type StreamEvent } from '../core/person';

export interface TransformDeps {
  gate: () => Promise<ConsentGate | undefined>;
  identity: Pick<IdentityReader, 'resolveMany' | 'linkedIds'>;
}

export interface TransformOutcome {
  result: FirehoseTransformationResult;
  archived: number;
  dropped: number;
  failed: number;
}

/** One Firehose buffer → each record Ok (with its row and partition), Dropped or ProcessingFailed. */
export const transformRecords = async (
  event: FirehoseTransformationEvent,
  deps: TransformDeps,
): Promise<TransformOutcome> => {
  const failed = new Set<string>();
  const decoded: (StreamEvent & { recordId: string })[] = [];
  for (const r of event.records) {
    const d = decodeCanonical(Buffer.from(r.data, 'base64').toString('utf8'));
    if (!d.ok) {
      failed.add(r.recordId);
      continue;
    }
    const meta = r.kinesisRecordMetadata;
    decoded.push({
      recordId: r.recordId,
      shardId: meta?.shardId ?? 'direct',
      seq: padSequence(meta?.sequenceNumber ?? '0'),
      event: d.event,
    });
  }
  const admitted = await admitReadOnly(decoded, await deps.gate(), deps.identity);
  const rows = new Map(
    admitted.map((e) => [(e as StreamEvent & { recordId: string }).recordId, archiveRow(e.event)]),
  );
  const records = event.records.map((r): FirehoseTransformationResultRecord => {
    const row = rows.get(r.recordId);
    if (!row)
      return {
        recordId: r.recordId,
        result: failed.has(r.recordId) ? 'ProcessingFailed' : 'Dropped',
        data: r.data,
      };
    return {
      recordId: r.recordId,
      result: 'Ok',
      data: Buffer.from(`${JSON.stringify(row)}\n`).toString('base64'),
      metadata: { partitionKeys: { ...partitionOf(row) } },
    };
  });
  return {
    result: { records },
    archived: rows.size,
    failed: failed.size,
    dropped: event.records.length - rows.size - failed.size,
  };
};

const db = documentClient();
const consent = new ConsentRepository(db, requireEnv(tables.consent.envVar));
const identity = new IdentityReader(db, requireEnv(tables.users.envVar));

const transform = async (event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> => {
  const outcome = await transformRecords(event, {
    // Consent is read per invocation, never cached: a withdrawal takes effect at once.
    gate: async () => ({ consent, key: await signingKey(), required: settings.consentRequired }),
    identity,
  });
  metrics.addMetric('ArchiveRecordsArchived', MetricUnit.Count, outcome.archived);
  metrics.addMetric('ArchiveRecordsDropped', MetricUnit.Count, outcome.dropped);
  metrics.addMetric('ArchiveRecordsFailed', MetricUnit.Count, outcome.failed);
  if (outcome.failed > 0)
    logger.warn('records that are not canonical events kept under the error prefix', {
      records: event.records.length,
      failed: outcome.failed,
    });
  return outcome.result;
};

export const handler = middy(transform).use(injectLambdaContext(logger)).use(logMetrics(metrics));
