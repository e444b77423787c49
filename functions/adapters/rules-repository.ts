/**
 * Segment rules, in the tags table (`rules / <ruleId>`, key design: tags-table.ts). A rule's
 * hash says when what it decides changed, so the caller knows to start a backfill.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type RuleBody, ruleHash, type SegmentRule } from '../core/rules';
import { type Item, queryPage, queryPartition } from './dynamo';
import type { Page } from './pagination';
import type { SegmentsRepository } from './segments-repository';
import { BACKFILL_PK, RULES_PK } from './tags-table';

/** A rule as stored: the definition and what tracks its changes. */
export interface StoredRule extends SegmentRule {
  hash: string;
  createdAt: string;
  updatedAt: string;
}

const toRule = (item: Item): StoredRule => ({
  ruleId: item.ruleId as string,
  tag: item.tag as string,
  when: item.when as SegmentRule['when'],
  ...(typeof item.description === 'string' && { description: item.description }),
  hash: item.hash as string,
  createdAt: item.createdAt as string,
  updatedAt: item.updatedAt as string,
});

export class RulesRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly segments: SegmentsRepository,
  ) {}

  async listRules(): Promise<StoredRule[]> {
    return (await queryPartition(this.db, this.tableName, RULES_PK)).map(toRule);
  }

  async rulesPage(limit: number, cursor?: string): Promise<Page<StoredRule>> {
    const page = await queryPage(this.db, this.tableName, RULES_PK, limit, cursor);
    return { ...page, items: page.items.map(toRule) };
  }

  async getRule(ruleId: string): Promise<StoredRule | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: RULES_PK, sk: ruleId }, ConsistentRead: true }),
    );
    return Item ? toRule(Item) : undefined;
  }

  /**
   * Create or replace a rule. `changed` when what it decides (tag or condition) differs from
   * before: the caller then starts a backfill. A description alone changes nothing else.
   */
  async putRule(
    ruleId: string,
    body: RuleBody,
    now: Date,
  ): Promise<{ rule: StoredRule; created: boolean; changed: boolean }> {
    const existing = await this.getRule(ruleId);
    const hash = ruleHash(body);
    const at = now.toISOString();
    // The rule's segment is listed from the start, before anyone is in it.
    await this.segments.register(body.tag, at);
    if (existing && existing.hash === hash && existing.description === body.description)
      return { rule: existing, created: false, changed: false };
    const rule: StoredRule = {
      ruleId,
      tag: body.tag,
      when: body.when,
      ...(body.description !== undefined && { description: body.description }),
      hash,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: RULES_PK, sk: ruleId, ...rule } }),
    );
    return { rule, created: !existing, changed: existing?.hash !== hash };
  }

  // console (issue 18)
  /** Delete a rule and its backfill job (the caller has removed its tags first). */
  async deleteRule(ruleId: string): Promise<void> {
    await Promise.all(
      [RULES_PK, BACKFILL_PK].map((pk) =>
        this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk: ruleId } })),
      ),
    );
  }
}
