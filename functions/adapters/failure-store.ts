/**
 * The consumer's on-failure destination, as erasure, export and the failure index see it: failed
 * batches (with their records' payloads) in the S3 bucket, or in the local stack's folder standing
 * in for it. Erasure rewrites an object without the person's records (deleting it when none is
 * left), so other people's failed events stay available to operators.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { FailureIndex } from './failure-index';
import { type ObjectStore, objectStoreFor } from './object-store';
import { logger, MetricUnit, metrics } from './observability';
import type { PersonalDataStore } from './personal-data';

/** The on-failure bucket as erasure, export and the failure index use it (lib/buckets.ts `failures`). */
export type FailureStore = Pick<ObjectStore, 'getText' | 'put' | 'delete'>;

/** The failure store a function's environment names: the bucket in AWS, the folder locally, or none. */
export const failureStoreFromEnv = (env: NodeJS.ProcessEnv = process.env): FailureStore | undefined =>
  objectStoreFor('failures', env);

/**
 * An on-failure record as Lambda writes it to S3 for a Kinesis event source mapping
 * (requestContext, responseContext, version, timestamp, KinesisBatchInfo, payload), read back.
 * The payload is the invocation event: documented as an escaped JSON string, accepted as an object.
 */
interface ParsedFailureRecord {
  record: { payload?: unknown; KinesisBatchInfo?: { batchSize?: number } };
  event: KinesisStreamEvent;
  payloadAsString: boolean;
}

const parseFailureRecord = (body: string): ParsedFailureRecord | undefined => {
  try {
    const record = JSON.parse(body) as ParsedFailureRecord['record'];
    const payloadAsString = typeof record?.payload === 'string';
    const event = (
      payloadAsString ? JSON.parse(record.payload as string) : record?.payload
    ) as KinesisStreamEvent;
    if (!event || !Array.isArray(event.Records)) return undefined;
    return { record, event, payloadAsString };
  } catch {
    return undefined;
  }
};

const decodeRecord = (r: KinesisStreamRecord): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
};

/** Every id a stream record may be found under: its partition key and the event's person ids. */
const idsOfRecord = (r: KinesisStreamRecord): string[] => {
  const e = decodeRecord(r);
  return [r.kinesis?.partitionKey, e?.userId, e?.anonymousId, e?.personKey].filter(
    (v): v is string => typeof v === 'string' && v !== '',
  );
};

/** The ids a failed batch names (what the failure index is keyed by); undefined when unreadable. */
export const failureRecordIds = (body: string): string[] | undefined => {
  const parsed = parseFailureRecord(body);
  return parsed && [...new Set(parsed.event.Records.flatMap(idsOfRecord))];
};

/** The records of a failed batch that name one of `ids`, and the object rewritten without them. */
export const splitFailureObject = (
  body: string,
  ids: ReadonlySet<string>,
): { matching: unknown[]; rest: string | undefined } | undefined => {
  const parsed = parseFailureRecord(body);
  if (!parsed) return undefined;
  const { record, event, payloadAsString } = parsed;
  const names = (r: KinesisStreamRecord) => idsOfRecord(r).some((id) => ids.has(id));
  const matching = event.Records.filter(names);
  if (matching.length === 0) return { matching: [], rest: body };
  const decoded = matching.map((r) => decodeRecord(r) ?? r);
  const kept = event.Records.filter((r) => !names(r));
  if (kept.length === 0) return { matching: decoded, rest: undefined };
  const payload = { ...event, Records: kept };
  const rest = JSON.stringify({
    ...record,
    // In the form Lambda wrote it, so readers of the bucket see one shape.
    payload: payloadAsString ? JSON.stringify(payload) : payload,
    ...(record.KinesisBatchInfo && {
      KinesisBatchInfo: { ...record.KinesisBatchInfo, batchSize: kept.length },
    }),
  });
  return { matching: decoded, rest };
};

/**
 * Failed batches as personal data: the records that name a person, found by reading every
 * object; erasure rewrites an object without them. No table: the on-failure bucket (or folder),
 * none in a stack that has neither.
 */
/**
 * An indexed object split by person. One the index names but that no longer reads as a failure
 * record (edited by hand, say) cannot be searched: it is left in place for an operator, logged by
 * key (never its content) and counted, so an erasure that could not reach it is seen.
 */
const readIndexed = (key: string, body: string, ids: readonly string[]) => {
  const split = splitFailureObject(body, new Set(ids));
  if (!split) {
    logger.error('an indexed failed batch is not a failure record: left for an operator', { key });
    metrics.addMetric('FailedBatchesUnreadable', MetricUnit.Count, 1);
  }
  return split;
};

export class FailedBatchesPersonalData implements PersonalDataStore {
  readonly name = 'failures';
  /** The index of failed batches by person lives in the quarantine table. */
  readonly tables = ['quarantine'] as const;
  private readonly index: FailureIndex;

  constructor(
    private readonly failures: FailureStore | undefined,
    db: DynamoDBDocumentClient,
    quarantineTable: string,
  ) {
    this.index = new FailureIndex(db, quarantineTable);
  }

  /** Only the objects the index names for these ids are read: never the whole bucket. */
  async export(ids: readonly string[]): Promise<unknown[]> {
    const found: unknown[] = [];
    if (!this.failures) return found;
    for (const key of await this.index.objectKeys(ids)) {
      const body = await this.failures.getText(key);
      const split = body === undefined ? undefined : readIndexed(key, body, ids);
      found.push(...(split?.matching ?? []));
    }
    return found;
  }

  /** Each indexed object rewritten without the person (deleted when nothing is left), then the index. */
  async erase(ids: readonly string[]): Promise<number> {
    let n = 0;
    const store = this.failures;
    for (const key of store ? await this.index.objectKeys(ids) : []) {
      const body = await store?.getText(key);
      const split = body === undefined ? undefined : readIndexed(key, body, ids);
      if (!store || !split || split.matching.length === 0) continue;
      n += split.matching.length;
      if (split.rest === undefined) await store.delete(key);
      else await store.put(key, split.rest);
    }
    await this.index.erase(ids);
    return n;
  }
}
