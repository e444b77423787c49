/**
 * Scale figures (issue: no silent ceilings), each against a baseline measured in the same run,
 * against dynalite in process:
 *
 *  - rateLimits: many simulated ingest containers (one limiter each, one request at a time, as
 *    Lambda serves them) share one source's limit, far over it. Accepted events per second
 *    against the limit, DynamoDB writes per request, and the writes per second on the hottest
 *    item (the partition ceiling: about 1,000/s in DynamoDB) — for the leasing limiter (one
 *    counter shard, and four) and for the limiter it replaced (one conditional UpdateItem per
 *    request on one item per source and second), under the same load.
 *  - backfill: persons/s of a rule backfill over 100,000 people (16 parallel Scan segments)
 *    against a plain sequential Scan of the same table (reading the keys only) and against the
 *    backfill as it was (one segment, page after page), timed over a slice. Each member it adds
 *    goes through SegmentSizes.membershipChanged (the exact size counter).
 *  - yearReport, segmentSize: bench/scale-reads.ts.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { batchWriteAll } from '../functions/adapters/dynamo';
import { IdentityReader } from '../functions/adapters/identity-reader';
import { MetricsRepository } from '../functions/adapters/metrics-repository';
import { PeopleRepository, personItemKey } from '../functions/adapters/people-repository';
import { QuarantineRepository } from '../functions/adapters/quarantine-repository';
import { RateLimiter, shardsFor } from '../functions/adapters/rate-limiter';
import { TagsRepository } from '../functions/adapters/tags-repository';
import { applyBatch, type BatchDeps } from '../functions/aggregate/apply-batch';
import { emptyPerson } from '../functions/core/person';
import { parseRuleBody } from '../functions/core/rules';
import { MAX_RATE_LIMIT } from '../functions/core/sources';
import { advanceBackfills, type SweepDeps } from '../functions/segments/sweeper';
import { dynamoItemSize } from '../test/support/item-size';
import { countingClient, type Limiter, runLoad } from '../test/support/rate-load';
import { canonicalEvent, toRecord } from '../test/support/stream-records';
import { documentClientOf, withEmulators } from './aggregate';
import { segmentSize, yearReport } from './scale-reads';
import { prng } from './workload';

const round = (n: number, digits = 2) => +n.toFixed(digits);

// ---- rate limits ---------------------------------------------------------------------------

/** The limiter before leases: one conditional UpdateItem per request, on one item per second. */
class OneWritePerRequestLimiter implements Limiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async take(sourceId: string, limit: number, count: number): Promise<{ ok: boolean }> {
    const second = Math.floor(Date.now() / 1000);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `rate#${sourceId}`, sk: String(second) },
          UpdateExpression: 'ADD n :count SET expiresAt = :ttl',
          ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
          ExpressionAttributeValues: { ':count': count, ':room': limit - count, ':ttl': second + 120 },
        }),
      );
      return { ok: true };
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return { ok: false };
      throw error;
    }
  }
}

/** Far over the limit even on a busy 2-core machine (the containers must outpace it to test it). */
const RATE = { limit: 200, containers: 10, durationMs: 6000, gapMs: 2, maxEvents: 3 };

const rateRun = async (
  db: DynamoDBDocumentClient,
  name: string,
  make: (client: DynamoDBDocumentClient, i: number) => Limiter,
) => {
  const counting = countingClient(db);
  const limiters = Array.from({ length: RATE.containers }, (_, i) => make(counting.client, i));
  const run = await runLoad({ ...RATE, containers: limiters, sourceId: `src_${name}`, seed: 7 });
  // The first second is the containers' warm-up.
  const seconds = run.perSecond.slice(1);
  const mean = seconds.reduce((a, b) => a + b, 0) / seconds.length;
  const worst = Math.max(...seconds.map((s) => Math.abs(s - RATE.limit) / RATE.limit));
  return {
    limiter: name,
    offeredPerSecond: run.offeredPerSecond,
    acceptedPerSecond: seconds,
    acceptedMean: Math.round(mean),
    worstDeviationPct: round(100 * worst, 1),
    requests: run.requests,
    refused: run.refusedRequests,
    /** Requests per container and second: the closed loop's pace (a waiting request holds its container). */
    requestsPerContainerSecond: round(run.requests / RATE.containers / (RATE.durationMs / 1000), 1),
    writes: counting.calls(),
    writesPerRequest: round(counting.calls() / run.requests, 3),
    /** Leases follow containers and seconds, not requests: this is the cost that does not grow with traffic. */
    writesPerContainerSecond: round(counting.calls() / RATE.containers / (RATE.durationMs / 1000), 1),
    hottestItemWritesPerSecond: counting.hottestItem(),
  };
};

export const rateLimits = async () =>
  withEmulators(async (emulators) => {
    const db = documentClientOf(emulators);
    const table = emulators.names.tables.limits;
    const baseline = await rateRun(
      db,
      'one-write-per-request',
      (c) => new OneWritePerRequestLimiter(c, table),
    );
    const leasing = await rateRun(
      db,
      'leases-1-shard',
      (c, i) => new RateLimiter(c, table, { random: prng(i) }),
    );
    const sharded = await rateRun(
      db,
      'leases-4-shards',
      (c, i) => new RateLimiter(c, table, { random: prng(100 + i), eventsPerShard: RATE.limit / 4 }),
    );
    return {
      load: RATE,
      runs: [baseline, leasing, sharded],
      writesPerRequestRatio: round(leasing.writesPerRequest / baseline.writesPerRequest, 3),
      /** Counter shards at the largest configurable limit: its writes spread over this many items. */
      shardsAtMaxLimit: { limit: MAX_RATE_LIMIT, shards: shardsFor(MAX_RATE_LIMIT) },
      target: { deviationPct: 20 },
      meetsTarget: leasing.worstDeviationPct <= 20 && sharded.worstDeviationPct <= 20,
    };
  });

// ---- backfill ------------------------------------------------------------------------------

const PEOPLE = 100_000;
/** Identity links share the users table: the backfill's filtered Scan reads past them. */
const LINKS = 10_000;

/**
 * `n` people, one in ten a frequent viewer, and LINKS identity link items. Two people are saved
 * through the repository; the rest are copies of their items under other keys, written in
 * batches (a PutItem each would take minutes on dynalite).
 */
const seedPeople = async (db: DynamoDBDocumentClient, table: string, people: PeopleRepository, n: number) => {
  const day = new Date().toISOString().slice(0, 10);
  const template = async (personKey: string, plays: number) => {
    await people.save(
      {
        ...emptyPerson(personKey),
        counts: { 'video-play': plays },
        days: { [day]: { 'video-play': plays } },
        firstSeen: `${day}T08:00:00.000Z`,
        lastSeen: `${day}T08:00:00.000Z`,
      },
      0,
    );
    const { Item } = await db.send(new GetCommand({ TableName: table, Key: personItemKey(personKey) }));
    return Item as Record<string, unknown>;
  };
  const viewer = await template('bf-0', 5);
  const other = await template('bf-1', 1);
  const items = Array.from({ length: n - 2 }, (_, j) => {
    const i = j + 2;
    const personKey = `bf-${i}`;
    return {
      PutRequest: { Item: { ...(i % 10 === 0 ? viewer : other), ...personItemKey(personKey), personKey } },
    };
  });
  const links = Array.from({ length: LINKS }, (_, i) => ({
    PutRequest: { Item: { pk: `links#bf-${i}`, sk: `anon-${i}`, anonymousId: `anon-${i}` } },
  }));
  const all = [...items, ...links];
  const limit = pLimit(8);
  const chunks = Array.from({ length: Math.ceil(all.length / 500) }, (_, c) =>
    all.slice(c * 500, (c + 1) * 500),
  );
  await Promise.all(chunks.map((chunk) => limit(() => batchWriteAll(db, table, chunk))));
};

const startRule = async (tags: TagsRepository, ruleId: string) => {
  const { rule } = await tags.putRule(
    ruleId,
    parseRuleBody({ tag: ruleId, when: { type: 'video-play', atLeast: 3, withinDays: 2 } }),
    new Date(),
  );
  await tags.startBackfill(ruleId, rule.hash, new Date());
};

export const backfill = async (options: { people?: number; serialSliceMs?: number } = {}) =>
  withEmulators(async (emulators) => {
    const n = options.people ?? PEOPLE;
    const db = documentClientOf(emulators);
    const usersTable = emulators.names.tables.users;
    const people = new PeopleRepository(db, usersTable);
    const tags = new TagsRepository(db, emulators.names.tables.tags);
    const deps: SweepDeps = { tags, people, identity: new IdentityReader(db, usersTable) };
    let t = performance.now();
    await seedPeople(db, usersTable, people, n);
    const seedSeconds = (performance.now() - t) / 1000;

    // Baseline: a plain sequential Scan of the same table, keys only, same page size.
    t = performance.now();
    let scanned = 0;
    let cursor: string | undefined;
    do {
      const page = await people.scanPersonKeys(cursor, 200);
      scanned += page.personKeys.length;
      cursor = page.next;
    } while (cursor);
    const scanPerSecond = scanned / ((performance.now() - t) / 1000);

    // Baseline: the backfill as it was, one segment page after page, over a slice of time.
    await startRule(tags, 'serial');
    const sliceMs = options.serialSliceMs ?? 20_000;
    t = performance.now();
    const serial = await advanceBackfills({ ...deps, backfillSegments: 1 }, new Date(), Date.now() + sliceMs);
    const serialPerSecond = serial.persons / ((performance.now() - t) / 1000);
    // The serial job is left unfinished: drop it so the parallel run applies its own rule only.
    await db.send(
      new PutCommand({
        TableName: emulators.names.tables.tags,
        Item: {
          pk: 'backfill',
          sk: 'serial',
          ruleId: 'serial',
          jobId: 'gone',
          ruleHash: 'gone',
          status: 'done',
        },
      }),
    );

    // The parallel backfill, every person, to the end.
    await startRule(tags, 'parallel');
    t = performance.now();
    let persons = 0;
    let runs = 0;
    for (;;) {
      const run = await advanceBackfills({ ...deps, pagesPerRun: Number.POSITIVE_INFINITY }, new Date());
      persons += run.persons;
      runs++;
      if (run.finished.includes('parallel') || run.persons === 0) break;
    }
    const parallelSeconds = (performance.now() - t) / 1000;
    const job = (await tags.backfills(['parallel'])).get('parallel');
    const members = await tags.segmentSize('parallel');
    return {
      people: n,
      linkItems: LINKS,
      seedSeconds: round(seedSeconds, 1),
      plainScanPersonsPerSecond: Math.round(scanPerSecond),
      serialBackfill: {
        persons: serial.persons,
        seconds: sliceMs / 1000,
        personsPerSecond: Math.round(serialPerSecond),
      },
      /** The schedule bounded the old backfill too: 20 pages of 200 items a minute. */
      serialBackfillScheduleBoundPersonsPerSecond: round((20 * 200) / 60, 1),
      parallelBackfill: {
        segments: 16,
        persons,
        runs,
        seconds: round(parallelSeconds, 1),
        personsPerSecond: Math.round(persons / parallelSeconds),
        done: job?.status === 'done',
        processed: job?.processed,
        members,
        membersExact: members === n / 10,
      },
      speedupOverSerial: round(persons / parallelSeconds / serialPerSecond, 1),
      ratioToPlainScan: round(persons / parallelSeconds / scanPerSecond, 3),
    };
  });

// ---- a very active id ---------------------------------------------------------------------

const HOT_EVENTS = 100_000;

/**
 * One id sending 100,000 events (a day of a busy bot), in 500-event batches, through applyBatch:
 * events/s, write units per event and the person item's size at the end, against the same number
 * of events spread over 1,000 people (the baseline: the everyday shape of the same volume).
 */
export const hotId = async (events = HOT_EVENTS) => {
  const run = async (personOf: (i: number) => string) =>
    withEmulators(async (emulators) => {
      const db = documentClientOf(emulators);
      const deps: BatchDeps = {
        people: new PeopleRepository(db, emulators.names.tables.users),
        counters: new MetricsRepository(db, emulators.names.tables.metrics),
        quarantine: new QuarantineRepository(db, emulators.names.tables.quarantine),
      };
      let writeUnits = 0;
      let applied = 0;
      const started = performance.now();
      for (let i = 0; i < events; i += 500) {
        const batch = Array.from({ length: Math.min(500, events - i) }, (_, j) =>
          toRecord(
            canonicalEvent({ personKey: personOf(i + j), userId: personOf(i + j), campaignId: 'hot' }),
            i + j,
          ),
        );
        const outcome = await applyBatch(batch, deps);
        if (outcome.failedFrom) throw new Error(`batch at ${i} failed from ${outcome.failedFrom}`);
        writeUnits += outcome.writeUnits;
        applied += outcome.applied;
      }
      const seconds = (performance.now() - started) / 1000;
      const { Item } = await db.send(
        new GetCommand({ TableName: emulators.names.tables.users, Key: personItemKey(personOf(0)) }),
      );
      return {
        applied,
        eventsPerSecond: round(events / seconds, 0),
        writeUnitsPerEvent: round(writeUnits / events, 3),
        personItemBytes: dynamoItemSize(Item ?? {}),
      };
    });
  const hot = await run(() => 'hot-bot');
  const spread = await run((i) => `person-${i % 1000}`);
  return {
    events,
    hot,
    spread,
    /** Exact counting: every event applied once, for the hot id as for the spread workload. */
    exact: hot.applied === events && spread.applied === events,
    eventsPerSecondVsSpread: round(hot.eventsPerSecond / spread.eventsPerSecond),
  };
};

export const scale = async () => ({
  rateLimits: await rateLimits(),
  backfill: await backfill(),
  hotId: await hotId(),
  // Reads that grow with history or audience: a year of metrics, a large segment's size.
  yearReport: await yearReport(),
  segmentSize: await segmentSize(),
});
export type Scale = Awaited<ReturnType<typeof scale>>;
