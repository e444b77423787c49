/**
 * The quarantine: records the consumer could not process, and Segment messages Pulse refused,
 * kept with their payload and the reason so an operator can inspect and replay them, instead of
 * blocking the shard or being lost. Encrypted at rest (the table's SSE), expiring (TTL). Never
 * logged: payloads may hold personal data.
 *
 * Keys, so that erasure finds every copy:
 * - the entry (payload, reason, every id it names) once, at `q!entry#<origin>#<position>`;
 * - an index item under **every** id the record names, at `q#<id>` / `<origin>#<position>`,
 *   pointing at the entry: erasing any one of the ids deletes the entry and every index item;
 * - a record naming no usable id is indexed at `q!unknown`. Person partitions all start with
 *   `q#`, so no id — not even `-` or `!unknown` — can reach an entry or that partition.
 * Items written before this (payload inline under `q#<first id>`, or `q#-`) are still found and
 * erased under their id; they expire with the retention.
 */

import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { QuarantineEntry } from '../core/edge/replay';
import { FIELD_LIMITS } from '../core/events';
import { batchGetAll, batchWriteAll, type Item, type Key, queryPartition } from './dynamo';
import { decodeCursor, encodeCursor } from './pagination';
import type { PersonalDataStore } from './personal-data';

export const QUARANTINE_RETENTION_DAYS = 30;
/**
 * Payload kept per entry: well under DynamoDB's 400 KB item limit with the reason, ids and keys
 * beside it. A longer payload (a 450 KB Segment message) is cut here, and the entry says so.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Ids indexed per record (a Segment message names at most userId, anonymousId, previousId). */
const MAX_IDS = 8;
/** Longer than any id Pulse accepts: not an id, so not indexed under. */
const MAX_ID_LENGTH = FIELD_LIMITS.personId;

const PERSON_PREFIX = 'q#';
/** The partition indexing records that name no usable id: outside every `q#<id>` partition. */
export const UNKNOWN_PARTITION = 'q!unknown';

export interface QuarantinedRecord {
  /** Every id the record names (user, anonymous, previous id…); none when it names none. */
  personKeys: readonly string[];
  reason: string;
  /** Where it came from: `stream:<shardId>` or `segment:<route>`. */
  origin: string;
  /** Unique within the origin (sequence number, message index…). */
  position: string;
  payload: string;
  receivedAt: string;
  /** The source it came in from (a replay puts it back under that source); absent on older entries. */
  sourceId?: string;
}

/** The partition of a person's quarantine index items (and of items written before entries). */
export const quarantinePk = (personKey: string) => `${PERSON_PREFIX}${personKey}`;

const entryKey = (origin: string, position: string): Key => ({
  pk: `q!entry#${origin}#${position}`,
  sk: 'entry',
});

/** The ids a record is indexed under: usable ids, once each, a bounded number. */
export const indexedIds = (personKeys: readonly string[]): string[] =>
  [...new Set(personKeys.filter((id) => id !== '' && id.length <= MAX_ID_LENGTH))].slice(0, MAX_IDS);

/**
 * The payload as an entry keeps it: whole when it fits, else cut at MAX_PAYLOAD_BYTES (on a
 * character boundary), with the whole's size and SHA-256 so a copy can still be matched.
 */
export const keptPayload = (
  payload: string,
): { payload: string; payloadBytes: number; payloadSha256: string; truncated: boolean } => {
  const bytes = Buffer.from(payload, 'utf8');
  const payloadSha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length <= MAX_PAYLOAD_BYTES)
    return { payload, payloadBytes: bytes.length, payloadSha256, truncated: false };
  let cut = MAX_PAYLOAD_BYTES;
  // Back off continuation bytes (10xxxxxx), so the cut never splits a character.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return {
    payload: bytes.subarray(0, cut).toString('utf8'),
    payloadBytes: bytes.length,
    payloadSha256,
    truncated: true,
  };
};

/**
 * Ids an undecodable stream record may still name: its partition key (the person key ingest
 * used) and, when its data is a JSON object, the ids in it.
 */
export const idsOfStreamRecord = (partitionKey: string, data: string): string[] => {
  const ids = [partitionKey];
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      for (const field of ['personKey', 'userId', 'anonymousId'] as const) {
        const id = (parsed as Record<string, unknown>)[field];
        if (typeof id === 'string') ids.push(id);
      }
  } catch {
    // Not JSON: the partition key is all it names.
  }
  return ids;
};

export class QuarantineRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Idempotent: the same record quarantined twice (a redelivery) is the same items. Index items
   * first: if the entry write then fails, the caller retries, and an index without its entry
   * is harmless — an entry no index points to would escape erasure.
   */
  async put(record: QuarantinedRecord): Promise<number> {
    const ids = indexedIds(record.personKeys);
    const entry = entryKey(record.origin, record.position);
    const sk = `${record.origin}#${record.position}`;
    const expiresAt = Math.floor(Date.parse(record.receivedAt) / 1000) + QUARANTINE_RETENTION_DAYS * 86_400;
    const index = {
      entry,
      ids,
      origin: record.origin,
      position: record.position,
      receivedAt: record.receivedAt,
    };
    const partitions = ids.length > 0 ? ids.map(quarantinePk) : [UNKNOWN_PARTITION];
    const consumed = await Promise.all(partitions.map((pk) => this.putItem({ pk, sk, ...index, expiresAt })));
    const { personKeys: _ids, payload, ...rest } = record;
    consumed.push(await this.putItem({ ...entry, ...rest, ids, ...keptPayload(payload), expiresAt }));
    return consumed.reduce((a, b) => a + b, 0);
  }

  /**
   * One page of entries received in [from, to) (and whose reason contains `reason`, if given), from
   * an opaque cursor: a Scan, for the rare operator replay, reading at most `limit` items.
   */
  async entriesBetween(
    range: { from: string; to: string; reason?: string },
    cursor: string | undefined,
    limit = 500,
  ): Promise<{ entries: QuarantineEntry[]; nextCursor?: string }> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor),
        FilterExpression: `begins_with(pk, :entry) AND receivedAt >= :from AND receivedAt < :to${
          range.reason === undefined ? '' : ' AND contains(reason, :reason)'
        }`,
        ExpressionAttributeValues: {
          ':entry': 'q!entry#',
          ':from': range.from,
          ':to': range.to,
          ...(range.reason === undefined ? {} : { ':reason': range.reason }),
        },
        ConsistentRead: true,
      }),
    );
    const entries = (out.Items ?? []).map(
      (i): QuarantineEntry => ({
        origin: i.origin as string,
        position: i.position as string,
        reason: i.reason as string,
        payload: i.payload as string,
        receivedAt: i.receivedAt as string,
        ...(typeof i.sourceId === 'string' && { sourceId: i.sourceId }),
        ...(i.truncated === true && { truncated: true }),
      }),
    );
    return out.LastEvaluatedKey ? { entries, nextCursor: encodeCursor(out.LastEvaluatedKey) } : { entries };
  }

  /** Every quarantined record naming one of these ids, entries resolved. */
  async exportPeople(ids: readonly string[]): Promise<Item[]> {
    const found: Item[] = [];
    for (const id of ids) {
      const items = await queryPartition(this.db, this.tableName, quarantinePk(id));
      found.push(...items.filter((i) => !i.entry)); // written before entries: payload inline
      const entries = items.flatMap((i) => (i.entry ? [i.entry as Key] : []));
      found.push(...(await batchGetAll(this.db, this.tableName, entries)).items);
    }
    return found;
  }

  /**
   * Erase every record naming one of these ids: its entry, and its index items under every id
   * it names (they name this id too). How many records were erased.
   */
  async erasePeople(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of ids) {
      const items = await queryPartition(this.db, this.tableName, quarantinePk(id));
      const keys = new Map<string, Key>();
      const add = (key: Key) => keys.set(`${key.pk}\u0000${key.sk}`, key);
      for (const item of items) {
        add({ pk: item.pk as string, sk: item.sk as string });
        const entry = item.entry as Key | undefined;
        if (!entry) continue;
        add(entry);
        for (const other of (item.ids as string[] | undefined) ?? [])
          add({ pk: quarantinePk(other), sk: item.sk as string });
      }
      await batchWriteAll(
        this.db,
        this.tableName,
        [...keys.values()].map((Key) => ({ DeleteRequest: { Key } })),
      );
      deleted += items.length;
    }
    return deleted;
  }

  private async putItem(item: Item): Promise<number> {
    const out = await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: item, ReturnConsumedCapacity: 'TOTAL' }),
    );
    return out.ConsumedCapacity?.CapacityUnits ?? 0;
  }
}

/** Quarantined records of a person: every record that names one of their ids. */
export class QuarantinePersonalData implements PersonalDataStore {
  readonly name = 'quarantine';
  readonly tables = ['quarantine'] as const;
  private readonly repository: QuarantineRepository;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.repository = new QuarantineRepository(db, tableName);
  }

  export(ids: readonly string[]): Promise<unknown[]> {
    return this.repository.exportPeople(ids);
  }

  erase(ids: readonly string[]): Promise<number> {
    return this.repository.erasePeople(ids);
  }
}
