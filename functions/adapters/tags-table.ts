/**
 * Key design of the tags table, shared by the repositories that live in it:
 *
 *   person#<personKey> / tag#<tag>#<source>   { tag, source, setAt, personKey, m? }   a person's tag
 *   person#<personKey> / check#<ruleId>       { ruleId, personKey, checkShard, nextCheck }
 *   segment#<tag> / <personKey>               { sources: String Set, counted?,         membership
 *                                               op?, opDelta?, opUntil? }                (pending size change)
 *   size#<tag> / s<0..7>                      { tag, n, ops: String Set }               size counter shard
 *   segments / <tag>                          { tag, createdAt }                       tags ever used
 *   rules / <ruleId>                          { ruleId, tag, when, hash, ... }
 *   backfill / <ruleId>                       { ruleId, jobId, cursor?, status, ... }
 *
 * Who writes what: person-tags-repository.ts (a person's tags; their erasure and export),
 * tag-memberships.ts (tag items and memberships kept consistent), rule-outcomes-repository.ts
 * (rule tags and time checks), segment-sizes.ts (segment sizes, where memberships change),
 * segments-repository.ts (the tags in use, segment listings),
 * rules-repository.ts and backfill-jobs-repository.ts.
 */
import { createHash } from 'node:crypto';
import { tables } from '../../lib/tables';

/** Shards of the `byNextCheck` index: the sweep queries each; a hash of the person picks one. */
export const CHECK_SHARDS = 8;
export const NEXT_CHECK_INDEX = tables.tags.indexes[0].name;

export const checkShardOf = (personKey: string): string =>
  `s${createHash('sha256').update(personKey).digest().readUInt32BE(0) % CHECK_SHARDS}`;

export const personPk = (personKey: string) => `person#${personKey}`;
export const tagSk = (tag: string, source: string) => `tag#${tag}#${source}`;
export const checkSk = (ruleId: string) => `check#${ruleId}`;
export const segmentPk = (tag: string) => `segment#${tag}`;
/** A shard of a segment's size counter (segment-sizes.ts). */
export const sizeKey = (tag: string, shard: number) => ({ pk: `size#${tag}`, sk: `s${shard}` });
export const REGISTRY_PK = 'segments';
export const RULES_PK = 'rules';
export const BACKFILL_PK = 'backfill';

/** Runs tasks a few at a time: one person's writes are few, and DynamoDB likes them spread. */
export const inBatches = async <T>(items: readonly T[], run: (item: T) => Promise<void>, width = 8) => {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
};
