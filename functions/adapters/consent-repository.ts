/**
 * Consent in the consent table.
 *
 *   consent#<subject> / current             the state now
 *   consent#<subject> / h#<time>#<random>   every change, append-only (the proof)
 *   proof#<hmac(subject)> / h#…             the proof after erasure: no id in clear
 *   erased#<hmac(subject)> / marker         erasure's suppression marker: later events drop, until
 *                                           the person consents again (`resumedAt`)
 */
import { randomBytes } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConsentBody, Purpose } from '../core/consent';
import { keyedIdHash } from '../core/signing';
import { batchGetAll, batchWriteAll, type Item, queryPartition, updateIf } from './dynamo';
import { eraseEach, type PersonalDataStore } from './personal-data';

export interface ConsentRecord {
  subject: string;
  purposes: Partial<Record<Purpose, boolean>>;
  policyVersion: string;
  source?: string;
  sourceId: string;
  /** Recorded for an anonymous id by a client key, without identity verification. */
  anonymous?: boolean;
  recordedAt: string;
}

const subjectPk = (subject: string) => `consent#${subject}`;
const markerKey = (hash: string) => ({ pk: `erased#${hash}`, sk: 'marker' });

export class ConsentRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** History first (the proof never lags the state), then the current state. */
  async record(subject: string, body: ConsentBody, sourceId: string, now: Date): Promise<ConsentRecord> {
    const record: ConsentRecord = {
      subject,
      purposes: body.purposes,
      policyVersion: body.policyVersion,
      ...(body.source !== undefined && { source: body.source }),
      sourceId,
      ...(body.anonymous === true && { anonymous: true }),
      recordedAt: now.toISOString(),
    };
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: subjectPk(subject),
          sk: `h#${record.recordedAt}#${randomBytes(4).toString('hex')}`,
          ...record,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: subjectPk(subject), sk: 'current', ...record },
      }),
    );
    return record;
  }

  /** Current state and history (oldest first) of a subject, from the one partition. */
  async state(subject: string): Promise<{ current?: ConsentRecord; history: ConsentRecord[] }> {
    const items = await queryPartition(this.db, this.tableName, subjectPk(subject));
    const strip = ({ pk: _pk, sk: _sk, ...rest }: Item) => rest as unknown as ConsentRecord;
    const current = items.find((i) => i.sk === 'current');
    return {
      ...(current && { current: strip(current) }),
      history: items.filter((i) => String(i.sk).startsWith('h#')).map(strip),
    };
  }

  /** Current consent of several subjects (the consumer's withdrawal check). */
  async currentFor(subjects: readonly string[]): Promise<Map<string, ConsentRecord>> {
    const { items } = await batchGetAll(
      this.db,
      this.tableName,
      subjects.map((s) => ({ pk: subjectPk(s), sk: 'current' })),
    );
    return new Map(items.map((i) => [i.subject as string, i as unknown as ConsentRecord]));
  }

  /**
   * Which of these keyed id hashes carry an erasure marker, and since when their person consented
   * again (events received before then stay dropped: erasure wins over anything in flight).
   */
  async erasedAmong(hashes: readonly string[]): Promise<Map<string, { resumedAt?: string }>> {
    const { items } = await batchGetAll(this.db, this.tableName, hashes.map(markerKey));
    return new Map(
      items.map((i) => [
        String(i.pk).slice('erased#'.length),
        typeof i.resumedAt === 'string' ? { resumedAt: i.resumedAt } : {},
      ]),
    );
  }

  async markErased(hash: string, now: Date): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...markerKey(hash), erasedAt: now.toISOString() },
      }),
    );
  }

  /**
   * The person consented again after erasure: suppression ends for what is received from now on.
   * The marker stays (events from before still drop); a no-op without a marker.
   */
  async resumeAfterErasure(hash: string, now: Date): Promise<void> {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: markerKey(hash),
      UpdateExpression: 'SET resumedAt = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':now': now.toISOString() },
    });
  }

  async unmarkErased(hash: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: markerKey(hash) }));
  }

  /**
   * Erase a subject's consent: the history moves under the keyed hash, without the id (the
   * minimal proof the law requires); everything under the id goes. Returns items removed.
   */
  async erase(subject: string, hash: string): Promise<number> {
    const items = await queryPartition(this.db, this.tableName, subjectPk(subject));
    const proofs = items
      .filter((i) => String(i.sk).startsWith('h#'))
      .map(({ subject: _s, pk: _p, ...rest }) => ({
        PutRequest: { Item: { ...rest, pk: `proof#${hash}` } },
      }));
    const deletes = items.map((i) => ({
      DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } },
    }));
    await batchWriteAll(this.db, this.tableName, [...proofs, ...deletes]);
    return items.length;
  }
}

/** Consent as personal data: erasure moves the history under a keyed hash of the id (the proof the law asks for). */
export class ConsentPersonalData implements PersonalDataStore {
  readonly name = 'consent';
  readonly tables = ['consent'] as const;

  constructor(
    private readonly consent: ConsentRepository,
    /** The signing key: the keyed hash the proof is kept under. */
    private readonly key: Uint8Array,
  ) {}

  async export(ids: readonly string[]): Promise<unknown[]> {
    return (
      await Promise.all(ids.map(async (id) => ({ subject: id, ...(await this.consent.state(id)) })))
    ).filter((s) => s.current || s.history.length > 0);
  }

  erase(ids: readonly string[]): Promise<number> {
    return eraseEach(ids, (id) => this.consent.erase(id, keyedIdHash(this.key, id)));
  }
}
