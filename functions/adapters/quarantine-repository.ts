/**
 * The quarantine: records the consumer could not process, kept with their payload and the
 * reason so an operator can inspect and replay them, instead of blocking the shard or being
 * lost. Encrypted at rest (the table's SSE), expiring (TTL), keyed by person where one is
 * known so erasure finds them. Never logged: payloads may hold personal data.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { deletePartition, queryPartition } from './dynamo';
import { eraseEach, exportEach, type PersonalDataStore } from './personal-data';

export const QUARANTINE_RETENTION_DAYS = 30;
export const UNKNOWN_PERSON = '-';

export interface QuarantinedRecord {
  personKey?: string;
  reason: string;
  /** Where it came from: `stream:<shardId>` or `segment:<route>`. */
  origin: string;
  /** Unique within the origin (sequence number, message index…). */
  position: string;
  payload: string;
  receivedAt: string;
}

export const quarantinePk = (personKey: string | undefined) => `q#${personKey ?? UNKNOWN_PERSON}`;

export class QuarantineRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Idempotent: the same record quarantined twice (a redelivery) is one item. */
  async put(record: QuarantinedRecord): Promise<number> {
    const out = await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: quarantinePk(record.personKey),
          sk: `${record.origin}#${record.position}`,
          ...record,
          expiresAt: Math.floor(Date.parse(record.receivedAt) / 1000) + QUARANTINE_RETENTION_DAYS * 86_400,
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }
}

/** Quarantined records of a person: the partition of their person key. */
export class QuarantinePersonalData implements PersonalDataStore {
  readonly name = 'quarantine';
  readonly tables = ['quarantine'] as const;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  export(ids: readonly string[]): Promise<unknown[]> {
    return exportEach(ids, (id) => queryPartition(this.db, this.tableName, quarantinePk(id)));
  }

  erase(ids: readonly string[]): Promise<number> {
    return eraseEach(ids, (id) => deletePartition(this.db, this.tableName, quarantinePk(id)));
  }
}
