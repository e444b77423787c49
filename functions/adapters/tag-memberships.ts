/**
 * A person's tag items and the segment memberships they imply, kept consistent without
 * transactions (dynalite has none): a tag item is written first and confirmed (`m`) only once its
 * membership source is in place; it is unconfirmed before its source leaves the membership and
 * deleted after. So a confirmed tag item means the membership holds its source, and no tag item
 * means it does not: the next apply repairs whatever a crash left between the two writes. Every
 * change of a membership's sources ends in SegmentSizes.membershipChanged (exact sizes; the place
 * for segment enter/leave triggers). Key design: tags-table.ts.
 */
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Item, isConditionFailed } from './dynamo';
import type { MembershipTriggers } from './membership-triggers';
import type { SegmentSizes } from './segment-sizes';
import type { SegmentsRepository } from './segments-repository';
import { personPk, segmentPk, tagSk } from './tags-table';

export class TagMemberships {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly segments: SegmentsRepository,
    private readonly sizes: SegmentSizes,
    /** Destinations (docs/destinations.md): segment enter/leave triggers. */
    private readonly triggers?: MembershipTriggers,
  ) {}

  /** Tag item, then membership source, then confirmation. */
  async addTag(personKey: string, tag: string, source: string, at: string, itemExists: boolean) {
    const Key = { pk: personPk(personKey), sk: tagSk(tag, source) };
    if (!itemExists)
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET tag = :t, #source = :s, personKey = :p, setAt = if_not_exists(setAt, :at)',
          ExpressionAttributeNames: { '#source': 'source' },
          ExpressionAttributeValues: { ':t': tag, ':s': source, ':p': personKey, ':at': at },
        }),
      );
    await this.segments.register(tag, at);
    const { Attributes: membership } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: segmentPk(tag), sk: personKey },
        UpdateExpression: 'ADD sources :s',
        ExpressionAttributeValues: { ':s': new Set([source]) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // Counted and nothing pending: the size already holds this member.
    if (membership?.counted !== true || membership.op !== undefined)
      await this.membershipChanged(tag, personKey);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET m = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // Removed meanwhile by a later decision: no tag item, so no membership source either.
      await this.removeSource(tag, personKey, source);
    }
  }

  /** Unconfirm, take the source out of the membership, then delete the tag item. */
  async removeTag(personKey: string, tag: string, source: string) {
    const Key = { pk: personPk(personKey), sk: tagSk(tag, source) };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'REMOVE m',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    await this.removeSource(tag, personKey, source);
    try {
      await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key, ConditionExpression: 'attribute_not_exists(m)' }),
      );
    } catch (error) {
      // Added back and confirmed meanwhile by a later decision: it stands.
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * The one point where a membership's change is committed: the size counts each enter and leave
   * once, and each change becomes a segment trigger for destinations before it commits (a trigger
   * that fails to be written leaves the change pending, for the retry to write).
   */
  async membershipChanged(tag: string, personKey: string) {
    const triggers = this.triggers;
    return this.sizes.membershipChanged(
      tag,
      personKey,
      triggers && ((change, changeId, at) => triggers.changed(tag, personKey, change, at, changeId)),
    );
  }

  /** Take one source out of a membership; the membership goes with its last source. */
  private async removeSource(tag: string, personKey: string, source: string) {
    const Key = { pk: segmentPk(tag), sk: personKey };
    let left: Item | undefined;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'DELETE sources :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':s': new Set([source]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      left = out.Attributes;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return;
    }
    if (left?.sources !== undefined) return;
    // The last source left: the size drops, and the membership goes.
    await this.membershipChanged(tag, personKey);
  }
}
