/**
 * Aggregation figures, against dynalite in process on loopback (a report, not a test):
 *
 *  - capacityCheck: does dynalite report ConsumedCapacity the DynamoDB way (1 WU per started KB
 *    of the larger of the old and new item)? Probe writes whose sizes are known, compared with
 *    bench/ddb-size.ts.
 *  - writeAmplification: write units per event of applyBatch on the reference workload (and on
 *    the worst case, every event from a different person), with exact counts checked against
 *    the ground truth. Every write of the headline run (2 shards) is also audited: the item is
 *    read before and after it and its units recomputed from the item sizes, so the figure does
 *    not rest on dynalite alone. Units are summed from what each repository write returns, not
 *    from BatchOutcome.writeUnits (reported beside it: it loses concurrent increments).
 *  - throughput: events/s through applyBatch against dynalite's raw rate of simple UpdateItems
 *    at the same concurrency, measured in the same run.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import pLimit from 'p-limit';
import { MetricsRepository } from '../functions/adapters/metrics-repository';
import { PeopleRepository } from '../functions/adapters/people-repository';
import { QuarantineRepository } from '../functions/adapters/quarantine-repository';
import { applyBatch, type BatchDeps } from '../functions/aggregate/apply-batch';
import { TOTAL_BUCKET } from '../functions/core/campaign-counters';
import type { CanonicalEvent } from '../functions/core/events';
import { countUniques } from '../functions/core/uniques';
import { type Emulators, startEmulators } from '../lib/local/emulators';
import { truth } from '../test/support/stream-records';
import { failedWriteUnits, itemBytes, writeUnits } from './ddb-size';
import {
  everyEventItsOwnPerson,
  generateWorkload,
  REFERENCE,
  shardOfKey,
  toBatches,
  type WorkloadOptions,
} from './workload';

const BATCH_SIZE = 500;
/** applyBatch's default write concurrency (BatchDeps.concurrency). */
const CONCURRENCY = 16;

const round = (n: number, digits = 3) => +n.toFixed(digits);
const isConditionFailed = (e: unknown) => (e as { name?: string }).name === 'ConditionalCheckFailedException';

export const documentClientOf = (emulators: Emulators) =>
  DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });

export const withEmulators = async <T>(fn: (emulators: Emulators) => Promise<T>): Promise<T> => {
  const emulators = await startEmulators({ env: {} });
  try {
    return await fn(emulators);
  } finally {
    await emulators.close();
  }
};

// ---- capacity: is dynalite's figure faithful? ---------------------------------------------

type Item = Record<string, AttributeValue>;

/** Padding so an item is exactly `bytes` long by the Developer Guide's rules. */
const sized = (pk: string, bytes: number, extra: Item = {}): Item => {
  const base: Item = { pk: { S: pk }, sk: { S: 'x' }, ...extra, p: { S: '' } };
  const pad = bytes - itemBytes(base);
  if (pad < 0) throw new Error(`item ${pk} is already ${itemBytes(base)} bytes`);
  return { ...base, p: { S: 'x'.repeat(pad) } };
};

/** Maps, a list, a binary and a binary set, `n` entries each: the shapes person and counter items use. */
const nested = (n: number): Item => ({
  counts: { M: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, { S: `v${i}` }])) },
  days: {
    M: Object.fromEntries(
      Array.from({ length: n }, (_, i) => [
        `2026-01-${String(i + 1).padStart(2, '0')}`,
        { M: { view: { S: 'x' } } },
      ]),
    ),
  },
  channels: { L: Array.from({ length: n }, (_, i) => ({ S: `c${i}` })) },
  dedup: { M: { '2026-01-01': { B: new Uint8Array(12 * n) } } },
  uu: { BS: Array.from({ length: n }, (_, i) => new Uint8Array(8).fill(i)) },
});

/** A map of `n` numbers like the counters person items keep (small integers, some with decimals). */
const numbers = (n: number): Item => ({
  counts: {
    M: Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`k${i}`, { N: i % 5 === 0 ? `${i}.99` : String(i * 10) }]),
    ),
  },
});

export const capacityCheck = async () =>
  withEmulators(async (emulators) => {
    const db = emulators.dynamodb;
    const table = emulators.names.tables.metrics;
    const put = (item: Item, condition?: string) =>
      db.send(
        new PutItemCommand({
          TableName: table,
          Item: item,
          ReturnConsumedCapacity: 'TOTAL',
          ...(condition && { ConditionExpression: condition }),
        }),
      );
    const update = (pk: string, expression: string, values?: Item, condition?: string) =>
      db.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: pk }, sk: { S: 'x' } },
          UpdateExpression: expression,
          ExpressionAttributeValues: values,
          ReturnConsumedCapacity: 'TOTAL',
          ...(condition && { ConditionExpression: condition }),
        }),
      );
    const get = async (pk: string) =>
      (
        await db.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: pk }, sk: { S: 'x' } },
            ConsistentRead: true,
          }),
        )
      ).Item;

    const cases: {
      case: string;
      beforeBytes: number;
      afterBytes: number;
      expected: number;
      dynalite: number | null;
    }[] = [];
    const probe = async (
      name: string,
      pk: string,
      write: () => Promise<{ ConsumedCapacity?: { CapacityUnits?: number } }>,
      setup?: () => Promise<unknown>,
    ) => {
      await setup?.();
      const before = await get(pk);
      let dynalite: number | null;
      let expected: number;
      try {
        dynalite = (await write()).ConsumedCapacity?.CapacityUnits ?? null;
        expected = writeUnits(before, await get(pk));
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // The exception carries no ConsumedCapacity; DynamoDB still bills the existing item.
        dynalite = null;
        expected = failedWriteUnits(before);
      }
      const after = await get(pk);
      cases.push({
        case: name,
        beforeBytes: itemBytes(before),
        afterBytes: itemBytes(after),
        expected,
        dynalite,
      });
    };
    const one = { ':one': { N: '1' } };

    await probe('put new 100 B', 'a', () => put(sized('a', 100)));
    await probe('put new 1024 B', 'b', () => put(sized('b', 1024)));
    await probe('put new 1025 B', 'c', () => put(sized('c', 1025)));
    await probe('put new 3.5 KB', 'd', () => put(sized('d', 3584)));
    await probe('update ADD n on 3.5 KB item', 'd', () => update('d', 'ADD n :one', one));
    await probe(
      'update growing 500 B -> 2.5 KB',
      'e',
      () => update('e', 'SET q = :q', { ':q': { S: 'y'.repeat(2048) } }),
      () => put(sized('e', 500)),
    );
    await probe('update shrinking 2.5 KB -> 0.1 KB', 'e', () => update('e', 'REMOVE q, p'));
    await probe(
      'put replacing 5 KB with 200 B',
      'f',
      () => put(sized('f', 200)),
      () => put(sized('f', 5 * 1024)),
    );
    // Maps, lists, binary sets and binaries at the 1 KB boundary (no numbers: exact byte rules).
    await probe('put nested 1024 B', 'g', () => put(sized('g', 1024, nested(12))));
    await probe('put nested 1025 B', 'h', () => put(sized('h', 1025, nested(12))));
    await probe(
      'update ADD to binary set 1016 -> 1024 B',
      'j',
      () => update('j', 'ADD uu :h', { ':h': { BS: [new Uint8Array(8).fill(200)] } }),
      () => put(sized('j', 1016, nested(12))),
    );
    // Numbers: the guide's "about 1 byte per two significant digits + 1", as base-100 pairs (numberBytes).
    await probe('put numbers 1024 B', 'k', () => put(sized('k', 1024, numbers(40))));
    await probe('put numbers 1025 B', 'l', () => put(sized('l', 1025, numbers(40))));
    await probe(
      'conditional put failing on 5 KB item',
      'i',
      () => put(sized('i', 100), 'attribute_not_exists(pk)'),
      () => put(sized('i', 5 * 1024)),
    );
    await probe('conditional update failing on 5 KB item', 'i', () =>
      update('i', 'ADD n :one', one, 'attribute_not_exists(pk)'),
    );

    const successful = cases.filter((c) => !c.case.startsWith('conditional'));
    const exactRules = successful.filter((c) => !c.case.startsWith('put numbers'));
    const agree = (cs: typeof cases) => cs.filter((c) => c.dynalite === c.expected).length;
    return {
      // Sizes by the guide's exact rules (strings, binaries, maps, lists, sets): must agree.
      faithful: agree(exactRules) === exactRules.length,
      exactRulesAgree: `${agree(exactRules)}/${exactRules.length}`,
      numbersAgree: `${agree(successful) - agree(exactRules)}/${successful.length - exactRules.length}`,
      failedConditionalWrites:
        'dynalite answers ConditionalCheckFailedException without ConsumedCapacity; DynamoDB bills the existing item (min 1 WU)',
      cases,
    };
  });

// ---- write amplification ---------------------------------------------------------------------

type ItemKind = 'person' | 'quarter' | 'total' | 'experiment' | 'registry' | 'quarantine' | 'other';
const kindOf = (pk: string, sk: string): ItemKind => {
  if (pk.startsWith('person#')) return 'person';
  if (pk === 'campaigns' || pk === 'experiments') return 'registry';
  if (pk.startsWith('x#')) return 'experiment';
  if (pk.startsWith('c#')) return sk === 'total' ? 'total' : 'quarter';
  if (pk.startsWith('q#')) return 'quarantine';
  return 'other';
};

interface KindTally {
  writes: number;
  units: number;
  bytesMax: number;
  bytesSum: number;
}

/**
 * Wraps a DocumentClient: every PutItem/UpdateItem is bracketed by consistent reads of its
 * item (through the raw client, so not counted by anyone), its units recomputed from the sizes
 * and compared with what dynalite reported.
 */
class CapacityAudit {
  writes = 0;
  agree = 0;
  dynaliteUnits = 0;
  expectedUnits = 0;
  conditionFailures = 0;
  conditionFailureUnits = 0;
  readUnits = 0;
  readonly byKind: Partial<Record<ItemKind, KindTally>> = {};
  readonly disagreements: { kind: ItemKind; bytes: number; expected: number; dynalite: number }[] = [];

  constructor(private readonly raw: DynamoDBClient) {}

  private async current(table: string, pk: string, sk: string) {
    const out = await this.raw.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
    );
    return out.Item;
  }

  wrap(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
    const send = async (command: unknown) => {
      const isWrite = command instanceof PutCommand || command instanceof UpdateCommand;
      if (!isWrite) {
        const out = (await doc.send(command as never)) as {
          ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
        };
        const cc = out.ConsumedCapacity;
        for (const c of Array.isArray(cc) ? cc : cc ? [cc] : []) this.readUnits += c.CapacityUnits ?? 0;
        return out;
      }
      const input = command.input as {
        TableName: string;
        Item?: Record<string, unknown>;
        Key?: Record<string, unknown>;
      };
      const key = (input.Key ?? input.Item) as { pk: string; sk: string };
      const kind = kindOf(key.pk, key.sk);
      const before = await this.current(input.TableName, key.pk, key.sk);
      let out: { ConsumedCapacity?: { CapacityUnits?: number } };
      try {
        out = (await doc.send(command as never)) as typeof out;
      } catch (error) {
        if (isConditionFailed(error)) {
          this.conditionFailures++;
          this.conditionFailureUnits += failedWriteUnits(before);
        }
        throw error;
      }
      const after = await this.current(input.TableName, key.pk, key.sk);
      const expected = writeUnits(before, after);
      const dynalite = out.ConsumedCapacity?.CapacityUnits ?? 0;
      const bytes = Math.max(itemBytes(before), itemBytes(after));
      this.writes++;
      this.expectedUnits += expected;
      this.dynaliteUnits += dynalite;
      if (expected === dynalite) this.agree++;
      else if (this.disagreements.length < 5) this.disagreements.push({ kind, bytes, expected, dynalite });
      const tally = this.byKind[kind] ?? { writes: 0, units: 0, bytesMax: 0, bytesSum: 0 };
      this.byKind[kind] = tally;
      tally.writes++;
      tally.units += expected;
      tally.bytesSum += bytes;
      tally.bytesMax = Math.max(tally.bytesMax, bytes);
      return out;
    };
    return new Proxy(doc, {
      get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)),
    });
  }

  report(events: number) {
    return {
      writes: this.writes,
      writeUnitsFromItemSizes: this.expectedUnits,
      writeUnitsDynalite: this.dynaliteUnits,
      writesWhereDynaliteAgrees: `${this.agree}/${this.writes}`,
      disagreements: this.disagreements,
      failedConditionalWrites: this.conditionFailures,
      failedConditionalWriteUnits: this.conditionFailureUnits,
      readUnits: round(this.readUnits, 1),
      readUnitsPerEvent: round(this.readUnits / events),
      byItem: Object.fromEntries(
        Object.entries(this.byKind).map(([k, t]) => [
          k,
          {
            writes: t.writes,
            writeUnits: t.units,
            perEvent: round(t.units / events),
            meanBytes: Math.round(t.bytesSum / t.writes),
            maxBytes: t.bytesMax,
          },
        ]),
      ),
    };
  }
}

/**
 * Repositories over `db`, their write methods wrapped to sum the units each returns (that is,
 * DynamoDB's ConsumedCapacity of every write), by kind of item.
 */
const instrumentedDeps = (db: DynamoDBDocumentClient, emulators: Emulators) => {
  const people = new PeopleRepository(db, emulators.names.tables.users);
  const counters = new MetricsRepository(db, emulators.names.tables.metrics);
  const quarantine = new QuarantineRepository(db, emulators.names.tables.quarantine);
  const split = {
    person: { writes: 0, units: 0 },
    quarterCounter: { writes: 0, units: 0 },
    totalCounter: { writes: 0, units: 0 },
    experimentCounter: { writes: 0, units: 0 },
    registry: { writes: 0, units: 0 },
    quarantine: { writes: 0, units: 0 },
  };
  const add = (into: { writes: number; units: number }, units: number) => {
    into.writes++;
    into.units += units;
  };
  // Rest parameters: the wrappers pass through whatever the repositories take.
  const save = people.save.bind(people);
  people.save = async (...args: Parameters<typeof save>) => {
    const r = await save(...args);
    add(split.person, r.consumed);
    return r;
  };
  const apply = counters.apply.bind(counters);
  counters.apply = async (...args: Parameters<typeof apply>) => {
    const units = await apply(...args);
    const { target } = args[1];
    add(
      target.kind !== 'campaign'
        ? split.experimentCounter
        : target.bucket === TOTAL_BUCKET
          ? split.totalCounter
          : split.quarterCounter,
      units,
    );
    return units;
  };
  const register = counters.register.bind(counters);
  counters.register = async (...args: Parameters<typeof register>) => {
    const units = await register(...args);
    if (units > 0) add(split.registry, units); // 0: cached, no write
    return units;
  };
  const put = quarantine.put.bind(quarantine);
  quarantine.put = async (...args: Parameters<typeof put>) => {
    const units = await put(...args);
    add(split.quarantine, units);
    return units;
  };
  const deps: BatchDeps = { people, counters, quarantine, concurrency: CONCURRENCY };
  const total = () => Object.values(split).reduce((n, k) => n + k.units, 0);
  return { deps, split, total };
};

/** Counts and distinct persons per campaign as stored, against the ground truth. */
const verifyExact = async (counters: MetricsRepository, events: readonly CanonicalEvent[]) => {
  const expected = truth(events);
  const wrong: { campaignId: string; expected: Record<string, number>; got: Record<string, number> }[] = [];
  let uniquesExact = true;
  let quartersAddUp = true;
  for (const [campaignId, want] of expected.totals) {
    const shards = (await counters.campaignShards(campaignId)) ?? [];
    const got = await counters.totals(campaignId, shards);
    const same = (a: Record<string, number>, b: Record<string, number>) =>
      Object.keys({ ...a, ...b }).every((k) => a[k] === b[k]);
    if (!same(got, want)) wrong.push({ campaignId, expected: want, got });
    const rows = (
      await Promise.all(shards.map((s) => counters.quarters(campaignId, s, '0000', '9999')))
    ).flat();
    const fromQuarters: Record<string, number> = {};
    for (const r of rows)
      for (const [k, v] of Object.entries(r.counts)) fromQuarters[k] = (fromQuarters[k] ?? 0) + v;
    if (!same(fromQuarters, want)) quartersAddUp = false;
    const uniques = countUniques(rows.map((r) => r.uniques));
    if (uniques.estimated || uniques.count !== expected.persons.get(campaignId)?.size) uniquesExact = false;
  }
  return {
    exact: wrong.length === 0,
    campaigns: expected.totals.size,
    quartersAddUp,
    uniquesExact,
    wrong: wrong.slice(0, 3),
  };
};

const runScenario = async (
  name: string,
  events: readonly CanonicalEvent[],
  shards: number,
  options: { audit: boolean; batchSize?: number },
) =>
  withEmulators(async (emulators) => {
    const doc = documentClientOf(emulators);
    const audit = options.audit ? new CapacityAudit(emulators.dynamodb) : undefined;
    const { deps, split, total } = instrumentedDeps(audit ? audit.wrap(doc) : doc, emulators);
    const batches = toBatches(events, shards, options.batchSize ?? BATCH_SIZE);
    const outcomes = { applied: 0, duplicates: 0, quarantined: 0, writeUnits: 0 };
    const started = performance.now();
    for (const batch of batches) {
      const outcome = await applyBatch(batch, deps);
      if (outcome.failedFrom !== undefined)
        throw new Error(`${name}: a batch failed from ${outcome.failedFrom}`);
      outcomes.applied += outcome.applied;
      outcomes.duplicates += outcome.duplicates;
      outcomes.quarantined += outcome.quarantined;
      outcomes.writeUnits += outcome.writeUnits;
    }
    const seconds = (performance.now() - started) / 1000;
    const verified = await verifyExact(new MetricsRepository(doc, emulators.names.tables.metrics), events);
    const n = events.length;
    const writeUnits = total();
    const perEvent = (units: number) => round(units / n);
    const counterUnits =
      split.quarterCounter.units + split.totalCounter.units + split.experimentCounter.units;
    const otherUnits = split.registry.units + split.quarantine.units;
    return {
      scenario: name,
      shards,
      events: n,
      persons: new Set(events.map((e) => e.personKey)).size,
      batches: batches.length,
      meanPersonsPerBatch: round(
        batches.reduce((s, b) => s + new Set(b.map((r) => r.kinesis.partitionKey)).size, 0) / batches.length,
        1,
      ),
      applied: outcomes.applied,
      writeUnits,
      wuPerEvent: perEvent(writeUnits),
      split: {
        personPerEvent: perEvent(split.person.units),
        counterPerEvent: perEvent(counterUnits),
        otherPerEvent: perEvent(otherUnits),
        byItem: Object.fromEntries(
          Object.entries(split)
            .filter(([, k]) => k.writes > 0)
            .map(([kind, k]) => [
              kind,
              {
                writes: k.writes,
                writeUnits: k.units,
                perEvent: perEvent(k.units),
                unitsPerWrite: round(k.units / k.writes, 2),
              },
            ]),
        ),
      },
      // applyBatch's own BatchOutcome.writeUnits, summed: should equal writeUnits.
      writeUnitsReportedByApplyBatch: outcomes.writeUnits,
      ...verified,
      ...(audit && { audit: audit.report(n) }),
      seconds: round(seconds, 1),
    };
  });

export const writeAmplification = async () => {
  const events = generateWorkload(REFERENCE);
  const worst = everyEventItsOwnPerson(generateWorkload({ ...REFERENCE, prefix: 'solo' }));
  // The stack's stream has 2 shards (lib/stream.ts): that run is the figure, audited write by write.
  const twoShards = await runScenario('reference, 2 shards', events, 2, { audit: true });
  const oneShard = await runScenario('reference, 1 shard', events, 1, { audit: false });
  const worstCase = await runScenario('worst case: every event from a different person, 2 shards', worst, 2, {
    audit: false,
  });
  const scenarios = [twoShards, oneShard, worstCase];
  // How the figure depends on batch fill: at a low event rate the 1 s batching window delivers
  // small batches, and fewer events share each person and counter write.
  const slice = events.slice(0, 5000);
  const batchFill = [];
  for (const batchSize of [500, 100, 20, 5]) {
    const r = await runScenario(`first ${slice.length} events, 2 shards, batches of ${batchSize}`, slice, 2, {
      audit: false,
      batchSize,
    });
    batchFill.push({
      batchSize,
      batches: r.batches,
      wuPerEvent: r.wuPerEvent,
      personPerEvent: r.split.personPerEvent,
      counterPerEvent: r.split.counterPerEvent,
      exact: r.exact,
    });
  }
  return {
    workload: {
      ...REFERENCE,
      events: events.length,
      types: [...new Set(events.map((e) => e.type))].sort(),
      batchSize: BATCH_SIZE,
      perShard: [0, 1].map((s) => events.filter((e) => shardOfKey(e.personKey, 2) === s).length),
    },
    target: { wuPerEvent: 1.0, exact: true },
    wuPerEvent: twoShards.wuPerEvent,
    wuPerEventOneShard: oneShard.wuPerEvent,
    worstCaseWuPerEvent: worstCase.wuPerEvent,
    exact: scenarios.every((s) => s.exact),
    meetsTarget: twoShards.wuPerEvent <= 1 && oneShard.wuPerEvent <= 1 && scenarios.every((s) => s.exact),
    applyBatchWriteUnitsAccurate: scenarios.every((s) => s.writeUnitsReportedByApplyBatch === s.writeUnits),
    scenarios,
    batchFill,
  };
};

// ---- throughput ------------------------------------------------------------------------------

/** `count` single-attribute `ADD n :one` UpdateItems on distinct keys, `concurrency` at a time. */
const rawUpdates = async (doc: DynamoDBDocumentClient, table: string, count: number, round_: number) => {
  const limit = pLimit(CONCURRENCY);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(() =>
        doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: `raw#${round_}#${i}`, sk: 'x' },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      ),
    ),
  );
  return count / ((performance.now() - started) / 1000);
};

export const throughput = async (
  options: { rawUpdates?: number; workload?: Partial<WorkloadOptions> } = {},
) =>
  withEmulators(async (emulators) => {
    const doc = documentClientOf(emulators);
    const table = emulators.names.tables.metrics;
    const count = options.rawUpdates ?? 6000;
    const events = generateWorkload({ ...REFERENCE, prefix: 'tp', ...options.workload });
    const batches: KinesisStreamRecord[][] = toBatches(events, 1, BATCH_SIZE);
    const { deps, split } = instrumentedDeps(doc, emulators);
    // Warm up: the client's connections, the JIT of both paths.
    await rawUpdates(doc, table, 1000, 0);
    // Raw rate before and after the aggregation run (the table grows meanwhile): their mean.
    const raw: number[] = [await rawUpdates(doc, table, count, 1)];
    const started = performance.now();
    for (const batch of batches) {
      const outcome = await applyBatch(batch, deps);
      if (outcome.failedFrom !== undefined)
        throw new Error(`throughput: a batch failed from ${outcome.failedFrom}`);
    }
    const aggregateSeconds = (performance.now() - started) / 1000;
    raw.push(await rawUpdates(doc, table, count, 2));
    const rawPerSecond = raw.reduce((a, b) => a + b, 0) / raw.length;
    const eventsPerSecond = events.length / aggregateSeconds;
    const writes = Object.values(split).reduce((n, k) => n + k.writes, 0);
    return {
      events: events.length,
      batches: batches.length,
      concurrency: CONCURRENCY,
      applyBatchSeconds: round(aggregateSeconds, 2),
      eventsPerSecond: Math.round(eventsPerSecond),
      rawUpdateItemsPerSecond: Math.round(rawPerSecond),
      ratio: round(eventsPerSecond / rawPerSecond, 2),
      rawRuns: raw.map(Math.round),
      rawUpdatesPerRun: count,
      // What applyBatch itself sustains in write requests (person puts, counter updates).
      applyBatchWrites: writes,
      applyBatchWritesPerSecond: Math.round(writes / aggregateSeconds),
      target: null,
    };
  });
