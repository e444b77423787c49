/**
 * Everything the tags table holds, behind the one object the handlers hold. Each concern lives in
 * its own repository (key design in tags-table.ts); this only wires them together on one table and
 * forwards, so a handler needs one instance and one constructor call.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RuleBody, RuleOutcome } from '../core/rules';
import type { PersonTag } from '../core/tags';
import { type BackfillJob, BackfillJobsRepository, type ScanSegment } from './backfill-jobs-repository';
import type { Item } from './dynamo';
import type { MembershipTriggers } from './membership-triggers';
import type { Page } from './pagination';
import { PersonTagsRepository } from './person-tags-repository';
import { type ApplyResult, type DueCheck, RuleOutcomesRepository } from './rule-outcomes-repository';
import { RulesRepository, type StoredRule } from './rules-repository';
import { SegmentSizes } from './segment-sizes';
import { type SegmentMember, SegmentsRepository } from './segments-repository';
import { TagMemberships } from './tag-memberships';

export class TagsRepository {
  readonly segments: SegmentsRepository;
  readonly personTagsStore: PersonTagsRepository;
  readonly ruleOutcomes: RuleOutcomesRepository;
  readonly rules: RulesRepository;
  readonly backfillJobs: BackfillJobsRepository;
  /** Tag items and the memberships (sizes, triggers) they imply: for other tag sources (models). */
  readonly memberships: TagMemberships;

  /** `triggers`: segment enter/leave messages for destinations (docs/destinations.md); none without. */
  constructor(db: DynamoDBDocumentClient, tableName: string, triggers?: MembershipTriggers) {
    const sizes = new SegmentSizes(db, tableName);
    this.segments = new SegmentsRepository(db, tableName, sizes);
    const memberships = new TagMemberships(db, tableName, this.segments, sizes, triggers);
    this.memberships = memberships;
    this.personTagsStore = new PersonTagsRepository(db, tableName, memberships);
    this.ruleOutcomes = new RuleOutcomesRepository(db, tableName, this.personTagsStore, memberships);
    this.rules = new RulesRepository(db, tableName, this.segments);
    this.backfillJobs = new BackfillJobsRepository(db, tableName);
  }

  // A person's tags
  personTags(personKey: string): Promise<PersonTag[]> {
    return this.personTagsStore.personTags(personKey);
  }
  replaceManualTags(personKey: string, tags: readonly string[], now: Date): Promise<PersonTag[]> {
    return this.personTagsStore.replaceManualTags(personKey, tags, now);
  }
  addManualTags(personKey: string, tags: readonly string[], now: Date): Promise<PersonTag[]> {
    return this.personTagsStore.addManualTags(personKey, tags, now);
  }
  removeManualTag(personKey: string, tag: string): Promise<PersonTag[]> {
    return this.personTagsStore.removeManualTag(personKey, tag);
  }
  exportPerson(personKey: string): Promise<Item[]> {
    return this.personTagsStore.exportPerson(personKey);
  }
  erasePerson(personKey: string): Promise<number> {
    return this.personTagsStore.erasePerson(personKey);
  }

  // Rule outcomes and time checks
  applyRuleOutcomes(personKey: string, outcomes: readonly RuleOutcome[], now: Date): Promise<ApplyResult> {
    return this.ruleOutcomes.applyRuleOutcomes(personKey, outcomes, now);
  }
  dueChecks(
    shard: string,
    now: Date,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ items: DueCheck[]; lastKey?: Record<string, unknown> }> {
    return this.ruleOutcomes.dueChecks(shard, now, limit, startKey);
  }

  // Segment listings
  segmentSize(tag: string): Promise<number> {
    return this.segments.segmentSize(tag);
  }
  countMembers(tag: string): Promise<number> {
    return this.segments.countMembers(tag);
  }
  segmentsPage(limit: number, cursor?: string): Promise<Page<{ tag: string; size: number }>> {
    return this.segments.segmentsPage(limit, cursor);
  }
  segmentExists(tag: string): Promise<boolean> {
    return this.segments.segmentExists(tag);
  }
  segmentMembers(tag: string, limit: number, cursor?: string): Promise<Page<SegmentMember>> {
    return this.segments.segmentMembers(tag, limit, cursor);
  }

  // Rules
  listRules(): Promise<StoredRule[]> {
    return this.rules.listRules();
  }
  rulesPage(limit: number, cursor?: string): Promise<Page<StoredRule>> {
    return this.rules.rulesPage(limit, cursor);
  }
  getRule(ruleId: string): Promise<StoredRule | undefined> {
    return this.rules.getRule(ruleId);
  }
  putRule(
    ruleId: string,
    body: RuleBody,
    now: Date,
  ): Promise<{ rule: StoredRule; created: boolean; changed: boolean }> {
    return this.rules.putRule(ruleId, body, now);
  }

  // Backfill jobs
  startBackfill(ruleId: string, hash: string, now: Date): Promise<BackfillJob> {
    return this.backfillJobs.startBackfill(ruleId, hash, now);
  }
  openBackfills(): Promise<BackfillJob[]> {
    return this.backfillJobs.openBackfills();
  }
  backfills(ruleIds: readonly string[]): Promise<Map<string, BackfillJob>> {
    return this.backfillJobs.backfills(ruleIds);
  }
  openBackfillSegments(
    job: BackfillJob,
    totalSegments: number,
    now: Date,
  ): Promise<ScanSegment[] | undefined> {
    return this.backfillJobs.openBackfillSegments(job, totalSegments, now);
  }
  advanceBackfillSegment(
    job: BackfillJob,
    segment: number,
    from: string | undefined,
    next: string | undefined,
    processed: number,
    now: Date,
  ): Promise<{ jobDone: boolean } | undefined> {
    return this.backfillJobs.advanceBackfillSegment(job, segment, from, next, processed, now);
  }
}
