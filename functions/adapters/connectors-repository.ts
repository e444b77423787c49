/**
 * CRM connectors in the traits table (key design: trait-declarations-repository.ts):
 * `connectors` / `<id>` holds a connector's settings (all in one partition: the sync job lists
 * them), `connector#<id>` / `state` its cursor, its run lease and the last run's counts. The state
 * is written after every page a run applies, so a run that dies resumes from its last page.
 * Nothing here is a person's value: counts, property and trait names, times.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Connector, ConnectorBody, SyncCursor } from '../core/crm-sync';
import { type Item, queryPartition, updateIf } from './dynamo';

const CONNECTORS_PK = 'connectors';
const statePk = (connectorId: string) => `connector#${connectorId}`;
const STATE_SK = 'state';

export type RunStatus = 'running' | 'ok' | 'rate_limited' | 'failed';

/** What a run did (counts only: a connector run logs and keeps no values). */
export interface RunReport {
  startedAt: string;
  finishedAt?: string;
  status: RunStatus;
  /** Contacts read from the CRM. */
  pulled: number;
  /** Trait updates put on the stream (one per matched person). */
  applied: number;
  /** Contacts no Pulse person matched. */
  unmatched: number;
  /** Contacts whose values did not fit the declared types (by trait name). */
  rejected: number;
  rejectedTraits: string[];
  /** 429s HubSpot answered (each waited out, up to the run's budget). */
  rateLimited: number;
  error?: string;
}

export interface ConnectorState {
  cursor?: SyncCursor;
  leaseUntil?: number;
  lastRun?: RunReport;
}

const toConnector = (item: Item): Connector => ({
  connectorId: item.sk as string,
  kind: item.kind as 'hubspot',
  properties: item.properties as Record<string, string>,
  match: item.match as Connector['match'],
  everyMinutes: item.everyMinutes as number,
  enabled: item.enabled as boolean,
  updatedAt: item.updatedAt as string,
});

export class ConnectorsRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<Connector[]> {
    return (await queryPartition(this.db, this.tableName, CONNECTORS_PK)).map(toConnector);
  }

  async get(connectorId: string): Promise<Connector | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: CONNECTORS_PK, sk: connectorId },
        ConsistentRead: true,
      }),
    );
    return Item ? toConnector(Item) : undefined;
  }

  async put(
    connectorId: string,
    body: ConnectorBody,
    now: Date,
  ): Promise<{ connector: Connector; created: boolean }> {
    const existing = await this.get(connectorId);
    const connector: Connector = { connectorId, ...body, updatedAt: now.toISOString() };
    const { connectorId: _id, ...fields } = connector;
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: CONNECTORS_PK, sk: connectorId, ...fields } }),
    );
    return { connector, created: !existing };
  }

  async state(connectorId: string): Promise<ConnectorState> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: statePk(connectorId), sk: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return {
      ...(Item?.cursor && { cursor: Item.cursor as SyncCursor }),
      ...(typeof Item?.leaseUntil === 'number' && { leaseUntil: Item.leaseUntil }),
      ...(Item?.lastRun && { lastRun: Item.lastRun as RunReport }),
    };
  }

  /**
   * Take the connector's run lease until `until` (epoch ms), unless another run holds it: two
   * overlapping runs would apply the same pages twice and race on the cursor.
   */
  async lease(connectorId: string, now: number, until: number, run: RunReport): Promise<boolean> {
    const out = await updateIf(this.db, {
      TableName: this.tableName,
      Key: { pk: statePk(connectorId), sk: STATE_SK },
      UpdateExpression: 'SET leaseUntil = :until, lastRun = :run',
      ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
      ExpressionAttributeValues: { ':until': until, ':now': now, ':run': run },
    });
    return out !== undefined;
  }

  /** Record a page applied: the cursor moves and the run's counts with it (under the lease). */
  async checkpoint(connectorId: string, cursor: SyncCursor, run: RunReport): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: statePk(connectorId), sk: STATE_SK },
        UpdateExpression: 'SET #cursor = :cursor, lastRun = :run',
        ExpressionAttributeNames: { '#cursor': 'cursor' },
        ExpressionAttributeValues: { ':cursor': cursor, ':run': run },
      }),
    );
  }

  /** The run is over: its report stays, the lease goes. */
  async finish(connectorId: string, run: RunReport): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: statePk(connectorId), sk: STATE_SK },
        UpdateExpression: 'SET lastRun = :run REMOVE leaseUntil',
        ExpressionAttributeValues: { ':run': run },
      }),
    );
  }
}
