/**
 * Rule outcomes in the tags table (key design: tags-table.ts): a person's rule tags, and the
 * time checks left for outcomes that change with time alone. A check item exists only while a
 * rule's outcome for a person would change with time alone; it carries the keys of the sparse
 * `byNextCheck` index, so the sweep finds what is due by a query.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { RuleOutcome } from '../core/rules';
import { ruleSource } from '../core/tags';
import type { PersonTagsRepository } from './person-tags-repository';
import type { TagMemberships } from './tag-memberships';
import { checkShardOf, checkSk, inBatches, NEXT_CHECK_INDEX, personPk } from './tags-table';

export interface DueCheck {
  personKey: string;
  ruleId: string;
  nextCheck: string;
}

export interface ApplyResult {
  added: number;
  removed: number;
  checksWritten: number;
}

export class RuleOutcomesRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly personTags: PersonTagsRepository,
    private readonly memberships: TagMemberships,
  ) {}

  /**
   * Bring a person's rule tags, memberships and time checks in line with these outcomes, as
   * sets: applying the same outcomes again writes nothing. One read of the person's items,
   * then only the writes that differ. A rule whose tag changed loses its old tag here.
   */
  async applyRuleOutcomes(
    personKey: string,
    outcomes: readonly RuleOutcome[],
    now: Date,
  ): Promise<ApplyResult> {
    const result: ApplyResult = { added: 0, removed: 0, checksWritten: 0 };
    if (outcomes.length === 0) return result;
    const state = await this.personTags.personState(personKey);
    const at = now.toISOString();
    // The last outcome of a rule wins, should a caller pass one twice.
    const byRule = new Map(outcomes.map((o) => [o.rule.ruleId, o]));
    const writes: (() => Promise<void>)[] = [];
    for (const { rule, holds, nextCheck } of byRule.values()) {
      const source = ruleSource(rule.ruleId);
      const mine = state.tags.filter((t) => t.source === source);
      for (const t of mine)
        if (!holds || t.tag !== rule.tag) {
          writes.push(() => this.memberships.removeTag(personKey, t.tag, source));
          result.removed++;
        }
      const current = mine.find((t) => t.tag === rule.tag);
      if (holds && !current?.confirmed) {
        writes.push(() => this.memberships.addTag(personKey, rule.tag, source, at, current !== undefined));
        result.added++;
      }
      const stored = state.checks.get(rule.ruleId);
      if (nextCheck !== stored) {
        writes.push(() => this.setCheck(personKey, rule.ruleId, nextCheck));
        result.checksWritten++;
      }
    }
    await inBatches(writes, (w) => w());
    return result;
  }

  private async setCheck(personKey: string, ruleId: string, nextCheck: string | undefined): Promise<void> {
    const key = { pk: personPk(personKey), sk: checkSk(ruleId) };
    if (nextCheck === undefined) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
      return;
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key, ruleId, personKey, checkShard: checkShardOf(personKey), nextCheck },
      }),
    );
  }

  /** Checks due by `now` in one shard of the index, a page at a time. */
  async dueChecks(
    shard: string,
    now: Date,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ items: DueCheck[]; lastKey?: Record<string, unknown> }> {
    const out: QueryCommandOutput = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: NEXT_CHECK_INDEX,
        KeyConditionExpression: 'checkShard = :s AND nextCheck <= :now',
        ExpressionAttributeValues: { ':s': shard, ':now': now.toISOString() },
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (out.Items ?? []).map((i) => ({
        personKey: i.personKey as string,
        ruleId: i.ruleId as string,
        nextCheck: i.nextCheck as string,
      })),
      ...(out.LastEvaluatedKey && { lastKey: out.LastEvaluatedKey }),
    };
  }
}
