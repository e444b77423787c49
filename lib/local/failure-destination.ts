/**
 * The on-failure destination of the local event source mapping: a folder standing in for the S3
 * bucket, holding what Lambda writes there for a Kinesis batch it gave up on (the record format,
 * its object keys), and reading it back.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What Lambda writes to an S3 on-failure destination for a Kinesis batch. */
export interface FailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError: string | null };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
  /** The invocation event (KinesisStreamEvent) as a JSON string: S3 destinations only. */
  payload: string;
}

export interface FailedBatch {
  records: readonly KinesisRecord[];
  condition: FailureCondition;
  shardId: string;
  streamArn: string;
  functionArn: string;
  /** The last invocation's request id; none when the records were never invoked with. */
  requestId: string | undefined;
  invocations: number;
  functionError: string | null | undefined;
  /** The invocation event the records made, as a JSON string. */
  payload: string;
}

/** The failure record of a batch at `now` (pure). */
export const failureRecord = (batch: FailedBatch, now: Date): FailureRecord => {
  const first = batch.records[0] as KinesisRecord;
  const last = batch.records.at(-1) as KinesisRecord;
  return {
    requestContext: {
      requestId: batch.requestId ?? randomUUID(),
      functionArn: batch.functionArn,
      condition: batch.condition,
      approximateInvokeCount: batch.invocations,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: batch.invocations ? (batch.functionError ?? null) : null,
    },
    version: '1.0',
    timestamp: now.toISOString(),
    KinesisBatchInfo: {
      shardId: batch.shardId,
      startSequenceNumber: first.SequenceNumber as string,
      endSequenceNumber: last.SequenceNumber as string,
      approximateArrivalOfFirstRecord: (first.ApproximateArrivalTimestamp ?? now).toISOString(),
      approximateArrivalOfLastRecord: (last.ApproximateArrivalTimestamp ?? now).toISOString(),
      batchSize: batch.records.length,
      streamArn: batch.streamArn,
    },
    payload: batch.payload,
  };
};

/** Destination key, as Lambda names S3 objects: aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>. */
export const failureKey = (uuid: string, shardId: string, at: Date): string => {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replace(/:/g, '.');
  return `aws/lambda/${uuid}/${shardId}/${day.replace(/-/g, '/')}/${day}T${time}-${randomUUID()}`;
};

/** Writes a failure record under its key; answers the file it wrote and its size. */
export const writeFailureRecord = async (failureDir: string, key: string, record: FailureRecord) => {
  const file = join(failureDir, ...key.split('/'));
  const body = JSON.stringify(record);
  await mkdir(dirname(file), { recursive: true });
  // Written whole then renamed, so a reader never sees half an object.
  await writeFile(`${file}.tmp`, body);
  await rename(`${file}.tmp`, file);
  return { file, size: Buffer.byteLength(body) };
};

/** Reads every failure record under a destination folder, oldest object key first. */
export const readFailureRecords = async (
  failureDir: string,
): Promise<(FailureRecord & { key: string })[]> => {
  const out: (FailureRecord & { key: string })[] = [];
  const walk = async (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), key);
      else if (!e.name.endsWith('.tmp')) {
        out.push({ ...(JSON.parse(await readFile(join(dir, e.name), 'utf8')) as FailureRecord), key });
      }
    }
  };
  await walk(failureDir, '');
  return out.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.key.localeCompare(b.key));
};
