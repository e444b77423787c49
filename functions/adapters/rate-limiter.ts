/**
 * Per-source rate limits: a fixed one-second window per source, counted in DynamoDB so the
 * limit holds across every ingest container. One conditional UpdateItem per request (not per
 * event); windows expire by TTL.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './dynamo';

export class RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Take `count` events from this second's allowance. A request larger than the whole limit
   * still passes into an empty window, so no batch is refused forever.
   */
  async take(
    sourceId: string,
    limitPerSecond: number,
    count: number,
  ): Promise<{ ok: boolean; retryAfterSeconds: number }> {
    const second = Math.floor(this.now() / 1000);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `rate#${sourceId}`, sk: String(second) },
          UpdateExpression: 'ADD n :count SET expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
          ExpressionAttributeValues: {
            ':count': count,
            ':room': limitPerSecond - count,
            ':ttl': second + 120,
          },
        }),
      );
      return { ok: true, retryAfterSeconds: 0 };
    } catch (error) {
      if (isConditionFailed(error)) return { ok: false, retryAfterSeconds: 1 };
      throw error;
    }
  }
}
