/**
 * Experiment definitions and assignments in the experiments table.
 *
 * Key design:
 * - definitions: `experiments` / `<experimentId>` — all in one partition, so the promotion
 *   function loads every definition with one Query and caches them. Meta attributes (placement,
 *   status, goal, version, times) are plain attributes; the validated body is kept as a JSON string
 *   (`definition`) so arbitrary variant content survives DynamoDB's type mapping unchanged
 *   (big numbers, empty maps). Writes are optimistic: `version` must be the one read. A bandit's
 *   `allocation` (its current weights) is a native attribute the bandit schedule sets alone.
 * - assignments: `person#<personKey>` / `exp#<experimentId>` with `{experimentId, variant,
 *   assignedAt, expiresAt}`, written once at first exposure with a put-if-absent, so the first
 *   assignment sticks; they live in the person's partition, which erasure and export cover.
 */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Allocation } from '../core/experiment-design';
import type { ExperimentBody, StoredExperiment } from '../core/experiments';
import {
  batchGetAll,
  batchWriteAll,
  deleteIf,
  type Item,
  putIf,
  queryPartition,
  updateIf,
  versionIs,
} from './dynamo';
import { eraseEach, exportEach, type PersonalDataStore } from './personal-data';

export const DEFINITIONS_PK = 'experiments';
export const definitionKey = (experimentId: string) => ({ pk: DEFINITIONS_PK, sk: experimentId });
export const assignmentPk = (personKey: string) => `person#${personKey}`;
const ASSIGNMENT_SK_PREFIX = 'exp#';
export const assignmentKey = (personKey: string, experimentId: string) => ({
  pk: assignmentPk(personKey),
  sk: `${ASSIGNMENT_SK_PREFIX}${experimentId}`,
});

/** Assignments outlive any sensible experiment; TTL removes them afterwards. */
export const ASSIGNMENT_TTL_DAYS = 400;

export interface Assignment {
  experimentId: string;
  variant: string;
  assignedAt: string;
  /** Epoch seconds (the table's TTL attribute). */
  expiresAt: number;
}

const META = [
  'experimentId',
  'version',
  'createdAt',
  'updatedAt',
  'startedAt',
  'stoppedAt',
  'allocation',
] as const;

const toItem = (e: StoredExperiment): Item => {
  const { experimentId, version, createdAt, updatedAt, startedAt, stoppedAt, allocation, ...body } = e;
  return {
    ...definitionKey(experimentId),
    experimentId,
    placement: e.placement,
    status: e.status,
    // Native too: the stream consumer reads goals straight from this partition.
    goal: e.goal,
    version,
    createdAt,
    updatedAt,
    ...(startedAt && { startedAt }),
    ...(stoppedAt && { stoppedAt }),
    // A bandit's current weights: native, since the bandit schedule updates them alone.
    ...(allocation && { allocation }),
    definition: JSON.stringify(body satisfies ExperimentBody),
  };
};

/** The stored definition of an item (also for the consumer, which reads the same partition). */
export const experimentFromItem = (item: Item): StoredExperiment => {
  const body = JSON.parse(item.definition as string) as ExperimentBody;
  const out: StoredExperiment = {
    ...body,
    experimentId: item.experimentId as string,
    version: item.version as number,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
  for (const k of META) if (item[k] !== undefined) (out as unknown as Item)[k] = item[k];
  return out;
};

const assignmentFromItem = (item: Item): Assignment => ({
  experimentId: item.experimentId as string,
  variant: item.variant as string,
  assignedAt: item.assignedAt as string,
  expiresAt: item.expiresAt as number,
});

const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);
/** TTL deletes late: an expired item counts as absent. */
const live = (item: Item, now: Date) =>
  !(typeof item.expiresAt === 'number' && item.expiresAt <= epochSeconds(now));

export class ExperimentsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  // ---- definitions ------------------------------------------------------------------------

  async get(experimentId: string): Promise<StoredExperiment | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: definitionKey(experimentId), ConsistentRead: true }),
    );
    return Item ? experimentFromItem(Item) : undefined;
  }

  /** Every definition (one partition, all pages, consistent). */
  async list(): Promise<StoredExperiment[]> {
    return (await queryPartition(this.db, this.tableName, DEFINITIONS_PK)).map(experimentFromItem);
  }

  /**
   * Write a definition if the stored one is still at `expectedVersion` (0: must not exist yet).
   * false when someone else wrote it in between.
   */
  async put(experiment: StoredExperiment, expectedVersion: number): Promise<boolean> {
    return putIf(this.db, {
      TableName: this.tableName,
      Item: toItem(experiment),
      ...versionIs(expectedVersion),
    });
  }

  /**
   * A bandit's new allocation, written alone (the definition's version is the admins' lock, so a
   * reallocation never makes an admin's save fail); only while the experiment still runs.
   */
  async setAllocation(experimentId: string, allocation: Allocation): Promise<boolean> {
    const written = await updateIf(this.db, {
      TableName: this.tableName,
      Key: definitionKey(experimentId),
      UpdateExpression: 'SET #a = :a',
      ConditionExpression: 'attribute_exists(pk) AND #s = :running',
      ExpressionAttributeNames: { '#a': 'allocation', '#s': 'status' },
      ExpressionAttributeValues: { ':a': allocation, ':running': 'running' },
    });
    return written !== undefined;
  }

  // ---- console (issue 18): delete a draft ------------------------------------------------

  /** Delete a definition if it is still at `expectedVersion`; false when it changed meanwhile. */
  delete(experimentId: string, expectedVersion: number): Promise<boolean> {
    return deleteIf(this.db, {
      TableName: this.tableName,
      Key: definitionKey(experimentId),
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': expectedVersion },
    });
  }

  // ---- assignments ------------------------------------------------------------------------

  /** Stored, unexpired assignments to an experiment of these person ids, by id. */
  async assignments(
    personKeys: readonly string[],
    experimentId: string,
    now: Date = new Date(),
  ): Promise<Map<string, Assignment>> {
    const out = new Map<string, Assignment>();
    if (personKeys.length === 0) return out;
    const { items } = await batchGetAll(
      this.db,
      this.tableName,
      personKeys.map((p) => assignmentKey(p, experimentId)),
    );
    for (const item of items)
      if (live(item, now))
        out.set((item.pk as string).slice(assignmentPk('').length), assignmentFromItem(item));
    return out;
  }

  /**
   * Store an assignment unless the person already has one (first exposure wins); returns the
   * assignment that sticks: this one, or the one a concurrent request stored first.
   */
  async assign(
    personKey: string,
    experimentId: string,
    variant: string,
    now: Date = new Date(),
  ): Promise<Assignment> {
    const mine: Assignment = {
      experimentId,
      variant,
      assignedAt: now.toISOString(),
      expiresAt: epochSeconds(now) + ASSIGNMENT_TTL_DAYS * 86_400,
    };
    const key = assignmentKey(personKey, experimentId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const written = await putIf(this.db, {
        TableName: this.tableName,
        Item: { ...key, ...mine },
        // An expired item TTL has not deleted yet is as good as absent.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': epochSeconds(now) },
      });
      if (written) return mine;
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      // Gone again in between (erasure): try the put once more.
      if (Item && live(Item, now)) return assignmentFromItem(Item);
    }
    return mine;
  }

  /** Every stored assignment of a person, as stored (export). */
  async personAssignments(personKey: string): Promise<Item[]> {
    return queryPartition(this.db, this.tableName, assignmentPk(personKey), ASSIGNMENT_SK_PREFIX);
  }

  /**
   * An identify merge: the anonymous id's assignments become the user's, except where the user
   * already has one for that experiment (theirs stands). Idempotent.
   */
  async carryAssignments(fromPersonKey: string, toPersonKey: string): Promise<void> {
    for (const item of await this.personAssignments(fromPersonKey))
      await putIf(this.db, {
        TableName: this.tableName,
        Item: { ...item, pk: assignmentPk(toPersonKey) },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
  }

  /** Erasure: delete a person's assignments; how many there were. */
  async eraseAssignments(personKey: string): Promise<number> {
    const items = await this.personAssignments(personKey);
    await batchWriteAll(
      this.db,
      this.tableName,
      items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })),
    );
    return items.length;
  }
}

/** Experiment assignments of a person (exposure state lives in the profile). */
export class AssignmentsPersonalData implements PersonalDataStore {
  /** The answer key predates the table's rename to `experiments`: kept, it is part of the HTTP contract. */
  readonly name = 'variants';
  readonly tables = ['experiments'] as const;

  constructor(
    private readonly experiments: Pick<ExperimentsRepository, 'personAssignments' | 'eraseAssignments'>,
  ) {}

  export(ids: readonly string[]): Promise<unknown[]> {
    return exportEach(ids, (id) => this.experiments.personAssignments(id));
  }

  erase(ids: readonly string[]): Promise<number> {
    return eraseEach(ids, (id) => this.experiments.eraseAssignments(id));
  }
}
