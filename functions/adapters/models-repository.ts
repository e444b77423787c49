/**
 * Model definitions, their versions and the rows of a run, in the models table:
 *
 *   model#<name> / def                    { definition, lastVersion, publishedVersion?, requestedAt?,
 *                                           lastRun? }   what an admin declared, and where it stands
 *   model#<name> / v#<000001>             { version }   a trained version (published or refused),
 *                                                       with its metrics, coefficients and reference
 *   run#<runId> / rows#<seg>#<chunk>      { training, labels, current, expiresAt }   feature rows of
 *                                                       one segment of a run (Float64 bytes, no ids;
 *                                                       expire after RUN_TTL_DAYS)
 *
 * Rows carry no person key or id: they are anonymous vectors, read once by the training step.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ModelDefinition, ModelVersion } from '../core/models/definition';
import { FEATURE_NAMES } from '../core/models/features';
import type { RunRows } from '../core/models/train';
import { batchWriteAll, type Item, queryPartition, updateIf } from './dynamo';

const modelPk = (name: string) => `model#${name}`;
const DEF_SK = 'def';
const versionSk = (version: number) => `v#${String(version).padStart(6, '0')}`;
const runPk = (runId: string) => `run#${runId}`;
export const RUN_TTL_DAYS = 2;
/** Rows per stored chunk: 22 features × 8 bytes × 2 vectors × 1,000 ≈ 350 KB, under the 400 KB item limit. */
const CHUNK_ROWS = 1000;

export interface ModelState {
  definition: ModelDefinition;
  lastVersion: number;
  publishedVersion?: number;
  requestedAt?: string;
  lastRun?: RunSummary;
}

export interface RunSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  version: number;
  published: boolean;
  reasons: string[];
  scored: number;
}

const toState = (item: Item): ModelState => ({
  definition: item.definition as ModelDefinition,
  lastVersion: (item.lastVersion as number | undefined) ?? 0,
  ...(typeof item.publishedVersion === 'number' && { publishedVersion: item.publishedVersion }),
  ...(typeof item.requestedAt === 'string' && { requestedAt: item.requestedAt }),
  ...(item.lastRun !== undefined && { lastRun: item.lastRun as RunSummary }),
});

const bytes = (values: readonly Float64Array[], width: number): Uint8Array => {
  const out = new Float64Array(values.length * width);
  for (const [i, v] of values.entries()) out.set(v, i * width);
  return new Uint8Array(out.buffer);
};
const vectors = (b: Uint8Array | undefined, width: number): Float64Array[] => {
  if (!b || b.byteLength === 0) return [];
  const copy = new Float64Array(new Uint8Array(b).buffer);
  return Array.from({ length: copy.length / width }, (_, i) => copy.subarray(i * width, (i + 1) * width));
};

export class ModelsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(name: string): Promise<ModelState | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: modelPk(name), sk: DEF_SK },
        ConsistentRead: true,
      }),
    );
    return Item ? toState(Item) : undefined;
  }

  /** Every model (a Scan of the small definitions: models are few). */
  async list(): Promise<ModelState[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :def',
          ExpressionAttributeValues: { ':def': DEF_SK },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.map(toState).sort((a, b) => a.definition.name.localeCompare(b.definition.name));
  }

  /** Declare or replace a model; its versions stay (a changed definition applies from the next run). */
  async put(definition: ModelDefinition): Promise<{ created: boolean }> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: modelPk(definition.name), sk: DEF_SK },
        UpdateExpression: 'SET #d = :d, lastVersion = if_not_exists(lastVersion, :zero)',
        ExpressionAttributeNames: { '#d': 'definition' },
        ExpressionAttributeValues: { ':d': definition, ':zero': 0 },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    return { created: out.Attributes?.definition === undefined };
  }

  /** Ask for a run now (the workflow's plan step picks it up). */
  async request(name: string, at: string): Promise<boolean> {
    return (
      (await updateIf(this.db, {
        TableName: this.tableName,
        Key: { pk: modelPk(name), sk: DEF_SK },
        UpdateExpression: 'SET requestedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      })) !== undefined
    );
  }

  /** Store a trained version under the next number; published versions also become current. */
  async addVersion(version: Omit<ModelVersion, 'version'>): Promise<ModelVersion> {
    const counted = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: modelPk(version.name), sk: DEF_SK },
      UpdateExpression: 'ADD lastVersion :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    });
    if (!counted) throw new Error(`model ${version.name} was deleted during its run`);
    const stored: ModelVersion = { ...version, version: counted.lastVersion as number };
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: modelPk(version.name), sk: versionSk(stored.version), model: stored },
      }),
    );
    return stored;
  }

  /** Make a version current: scoring and the consumer use it from now on. */
  async publish(name: string, version: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: modelPk(name), sk: DEF_SK },
        UpdateExpression: 'SET publishedVersion = :v',
        ExpressionAttributeValues: { ':v': version },
      }),
    );
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: modelPk(name), sk: versionSk(version) },
      UpdateExpression: 'SET #m.published = :true',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#m': 'model' },
      ExpressionAttributeValues: { ':true': true },
    });
  }

  async version(name: string, version: number): Promise<ModelVersion | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: modelPk(name), sk: versionSk(version) } }),
    );
    return Item?.model as ModelVersion | undefined;
  }

  /** The most recent versions, newest first. */
  async versions(name: string, limit = 10): Promise<ModelVersion[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': modelPk(name), ':v': 'v#' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => i.model as ModelVersion);
  }

  /** Every model with a published version, with that version: what scoring uses. */
  async published(): Promise<{ definition: ModelDefinition; version: ModelVersion }[]> {
    const states = (await this.list()).filter((s) => s.publishedVersion !== undefined);
    const out = await Promise.all(
      states.map(async (s) => ({
        definition: s.definition,
        version: await this.version(s.definition.name, s.publishedVersion as number),
      })),
    );
    return out.flatMap((o) => (o.version ? [{ definition: o.definition, version: o.version }] : []));
  }

  async finishRun(name: string, summary: RunSummary, requestedAt: string | undefined): Promise<void> {
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: modelPk(name), sk: DEF_SK },
      UpdateExpression: 'SET lastRun = :r',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':r': summary },
    });
    if (requestedAt === undefined) return;
    // The request this run answered is done; one made during the run stays for the next run.
    await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: modelPk(name), sk: DEF_SK },
      UpdateExpression: 'REMOVE requestedAt',
      ConditionExpression: 'requestedAt = :req',
      ExpressionAttributeValues: { ':req': requestedAt },
    });
  }

  async delete(name: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: modelPk(name), sk: DEF_SK } }),
    );
  }

  /** One segment's rows of a run, in chunks (anonymous vectors, expiring). */
  async putRows(runId: string, segment: number, rows: RunRows, now: Date): Promise<void> {
    const width = FEATURE_NAMES.length;
    const currentWidth = rows.current[0]?.length ?? width;
    const chunks = Math.max(
      Math.ceil(rows.training.length / CHUNK_ROWS),
      Math.ceil(rows.current.length / CHUNK_ROWS),
      1,
    );
    const expiresAt = Math.floor(now.getTime() / 1000) + RUN_TTL_DAYS * 86_400;
    const items = Array.from({ length: chunks }, (_, c) => {
      const training = rows.training.slice(c * CHUNK_ROWS, (c + 1) * CHUNK_ROWS);
      const current = rows.current.slice(c * CHUNK_ROWS, (c + 1) * CHUNK_ROWS);
      return {
        PutRequest: {
          Item: {
            pk: runPk(runId),
            sk: `rows#${String(segment).padStart(4, '0')}#${String(c).padStart(6, '0')}`,
            width,
            currentWidth,
            training: bytes(
              training.map((r) => r.x),
              width,
            ),
            labels: Uint8Array.from(training.map((r) => r.y)),
            current: bytes(current, currentWidth),
            expiresAt,
          },
        },
      };
    });
    await batchWriteAll(this.db, this.tableName, items);
  }

  /** Every row of a run, every segment. */
  async rows(runId: string): Promise<RunRows> {
    const items = await queryPartition(this.db, this.tableName, runPk(runId), 'rows#');
    const out: RunRows = { training: [], current: [] };
    for (const item of items) {
      const width = item.width as number;
      const labels = item.labels as Uint8Array | undefined;
      for (const [i, x] of vectors(item.training as Uint8Array | undefined, width).entries())
        out.training.push({ x, y: (labels?.[i] ?? 0) as 0 | 1 });
      out.current.push(...vectors(item.current as Uint8Array | undefined, item.currentWidth as number));
    }
    return out;
  }
}
