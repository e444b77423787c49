/**
 * The quality table: tracking plans and what broke them.
 *
 * | pk                    | sk                           | item                                                     |
 * | --------------------- | ---------------------------- | -------------------------------------------------------- |
 * | `plan`                | `<event name>`               | a plan entry: mode, JSON Schema, updatedAt (one Query loads them all) |
 * | `violations#<day>`    | `["<event>","<schemaPath>"]` | a day's (UTC) count of one violation, with an example: keyword, path, message — never a value (TTL 90 days) |
 *
 * Plans are few and small (a deployment's custom events), so one partition holds them all and
 * the ingest functions load it whole behind a per-container cache. Violation counts are added
 * with one UpdateItem per distinct violation per request, only when a request had any.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PlanEntry, PlanMode, PlanViolation } from '../core/edge/tracking-plan';
import { deleteExisting, queryPartition } from './dynamo';

const PLAN_PK = 'plan';
const violationsPk = (day: string) => `violations#${day}`;
export const VIOLATION_RETENTION_DAYS = 90;

export interface ViolationCount {
  event: string;
  mode: PlanMode;
  keyword: string;
  schemaPath: string;
  /** An example of where (array positions as `*`) and what (the validator's message). */
  example: { path: string; message: string };
  count: number;
  lastSeen: string;
}

const toEntry = (item: Record<string, unknown>): PlanEntry => ({
  name: item.sk as string,
  mode: item.mode as PlanMode,
  schema: JSON.parse(item.schema as string) as Record<string, unknown>,
  updatedAt: item.updatedAt as string,
});

export class TrackingPlanRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Every plan entry (one partition). */
  async list(): Promise<PlanEntry[]> {
    return (await queryPartition(this.db, this.tableName, PLAN_PK)).map(toEntry);
  }

  async get(name: string): Promise<PlanEntry | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: PLAN_PK, sk: name }, ConsistentRead: true }),
    );
    return out.Item ? toEntry(out.Item) : undefined;
  }

  /** The schema is stored as its JSON text: DynamoDB would refuse empty strings and sets inside it. */
  async put(entry: PlanEntry): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: PLAN_PK,
          sk: entry.name,
          mode: entry.mode,
          schema: JSON.stringify(entry.schema),
          updatedAt: entry.updatedAt,
        },
      }),
    );
  }

  /** Whether there was one to delete. */
  async delete(name: string): Promise<boolean> {
    return deleteExisting(this.db, this.tableName, { pk: PLAN_PK, sk: name });
  }

  /** Count violations under their day: one UpdateItem per distinct (event, schema path). */
  async record(violations: readonly PlanViolation[], at: Date): Promise<void> {
    const day = at.toISOString().slice(0, 10);
    const grouped = new Map<string, { v: PlanViolation; n: number }>();
    for (const v of violations) {
      const sk = JSON.stringify([v.event, v.schemaPath]);
      const g = grouped.get(sk);
      if (g) g.n++;
      else grouped.set(sk, { v, n: 1 });
    }
    const expiresAt = Math.floor(at.getTime() / 1000) + VIOLATION_RETENTION_DAYS * 86_400;
    await Promise.all(
      [...grouped].map(([sk, { v, n }]) =>
        this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: violationsPk(day), sk },
            UpdateExpression:
              'ADD #count :n SET #event = :event, #mode = :mode, keyword = :keyword, schemaPath = :schemaPath, #path = :path, message = :message, lastSeen = :at, expiresAt = :exp',
            ExpressionAttributeNames: {
              '#count': 'count',
              '#event': 'event',
              '#mode': 'mode',
              '#path': 'path',
            },
            ExpressionAttributeValues: {
              ':n': n,
              ':event': v.event,
              ':mode': v.mode,
              ':keyword': v.keyword,
              ':schemaPath': v.schemaPath,
              ':path': v.path,
              ':message': v.message,
              ':at': at.toISOString(),
              ':exp': expiresAt,
            },
          }),
        ),
      ),
    );
  }

  /** Violations of the UTC days `from`..`to` (inclusive), summed over the days. */
  async violations(days: readonly string[]): Promise<ViolationCount[]> {
    const perDay = await Promise.all(
      days.map((d) => queryPartition(this.db, this.tableName, violationsPk(d))),
    );
    const out = new Map<string, ViolationCount>();
    for (const item of perDay.flat()) {
      const sk = item.sk as string;
      const seen = out.get(sk);
      if (seen) {
        seen.count += item.count as number;
        if ((item.lastSeen as string) > seen.lastSeen) {
          seen.lastSeen = item.lastSeen as string;
          seen.mode = item.mode as PlanMode;
          seen.example = { path: item.path as string, message: item.message as string };
        }
      } else
        out.set(sk, {
          event: item.event as string,
          mode: item.mode as PlanMode,
          keyword: item.keyword as string,
          schemaPath: item.schemaPath as string,
          example: { path: item.path as string, message: item.message as string },
          count: item.count as number,
          lastSeen: item.lastSeen as string,
        });
    }
    return [...out.values()].sort((a, b) => b.count - a.count || a.event.localeCompare(b.event));
  }
}
