import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsentRepository } from '../../functions/adapters/consent-repository';
import { DestinationsRepository } from '../../functions/adapters/destinations-repository';
import { IdentityReader } from '../../functions/adapters/identity-reader';
import { ImportTags } from '../../functions/adapters/import-tags';
import { type ImportJob, ImportsRepository } from '../../functions/adapters/imports-repository';
import { MembershipTriggers } from '../../functions/adapters/membership-triggers';
import { MetricsRepository } from '../../functions/adapters/metrics-repository';
import { folderObjectStore, type ObjectStore } from '../../functions/adapters/object-store';
import { OutboxRepository } from '../../functions/adapters/outbox-repository';
import { PeopleRepository } from '../../functions/adapters/people-repository';
import { QuarantineRepository } from '../../functions/adapters/quarantine-repository';
import { TagsRepository } from '../../functions/adapters/tags-repository';
import { TraitDeclarationsRepository } from '../../functions/adapters/trait-declarations-repository';
import { applyBatch } from '../../functions/aggregate/apply-batch';
import type { Destination } from '../../functions/core/destinations/definition';
import type { ImportBody } from '../../functions/core/imports';
import type { Accepted } from '../../functions/core/ingest';
import { keyedIdHash } from '../../functions/core/signing';
import { traitHash, traitValues } from '../../functions/core/traits';
import { type ImportDeps, runImport } from '../../functions/traits/importer';
import { type Emulators, startEmulators } from '../../lib/local/emulators';
import { toRecord } from '../support/stream-records';

const key = Buffer.from('i'.repeat(32));
let emulators: Emulators;
let db: DynamoDBDocumentClient;
let imports: ImportsRepository;
let store: ObjectStore;
let dir: string;
let tags: TagsRepository;
let importTags: ImportTags;

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const t = emulators.names.tables;
  imports = new ImportsRepository(db, t.traits);
  dir = mkdtempSync(join(tmpdir(), 'pulse-imports-'));
  store = folderObjectStore({ name: 'imports', dir });
  tags = new TagsRepository(db, t.tags);
  importTags = new ImportTags({
    tags: tags.personTagsStore,
    identity: new IdentityReader(db, t.users),
    consent: new ConsentRepository(db, t.consent),
    key: async () => key,
  });
  const declarations = new TraitDeclarationsRepository(db, t.traits);
  const now = new Date();
  await declarations.put('plan', { type: 'string', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('seats', { type: 'number', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('vip', { type: 'boolean', pii: 'none', purpose: 'marketing' }, now);
  await declarations.put('email', { type: 'string', pii: 'hash', purpose: 'marketing' }, now);
});
afterAll(async () => {
  await emulators?.close();
  rmSync(dir, { recursive: true, force: true });
});

const traitContext = async () => ({
  declarations: await new TraitDeclarationsRepository(db, emulators.names.tables.traits).byName(),
  key,
});

/** A runner for tag-only imports (nothing reaches the stream). */
const tagsOnly = (tags: ImportTags): ImportDeps => ({
  imports,
  store,
  traits: traitContext,
  publish: async () => {},
  tags,
});

const newJob = async (importId: string, body: ImportBody): Promise<ImportJob> => {
  const at = new Date().toISOString();
  const job: ImportJob = {
    importId,
    ...body,
    status: 'awaiting_upload',
    objectKey: `uploads/${importId}.${body.format}`,
    createdAt: at,
    updatedAt: at,
    nextLine: 0,
    rows: 0,
    applied: 0,
    rejected: 0,
    rejections: [],
  };
  await imports.create(job);
  return job;
};

const csvMapping: ImportBody = {
  format: 'csv',
  mapping: {
    userId: 'customer_id',
    traits: { plan: 'plan', seats: 'seats', vip: 'vip', email: 'email' },
    tags: { add: 'tags', remove: 'untag' },
  },
};

/** Row i's tags: 100 people get `vip` and `imported`, 100 get `vip` and lose `legacy`, 20 a bad tag. */
const tagCells = (i: number): [string, string] =>
  i % 1000 === 125
    ? ['vip;imported', '']
    : i % 1000 === 126
      ? ['vip', 'legacy']
      : i % 5000 === 7
        ? ['Bad Tag', '']
        : ['', ''];

/** 100,000 rows with bad ones at known lines: what a CRM export with errors looks like. */
const bigCsv = () => {
  const lines = ['customer_id,plan,seats,vip,email,tags,untag'];
  const bad = new Map<number, string>();
  let line = 2;
  for (let i = 1; i <= 100_000; i++) {
    const t = tagCells(i).join(',');
    let row = `imp-u-${i},${i % 3 ? 'pro' : 'free'},${i % 100},${i % 2 ? 'true' : 'false'},user${i}@example.com,${t}`;
    if (i % 5000 === 7) bad.set(line, 'tags: tag 1: Expected');
    if (i === 125) bad.set(line, 'The person was erased');
    if (i % 1000 === 0) {
      row = `imp-u-${i},pro,many,true,user${i}@example.com,${t}`;
      bad.set(line, 'traits.seats');
    } else if (i % 1500 === 0) {
      row = `,pro,1,true,user${i}@example.com,${t}`;
      bad.set(line, 'customer_id');
    } else if (i === 777) {
      row = `imp-u-${i},pro,1`;
      bad.set(line, 'Expected 7 columns');
    } else if (i === 778) {
      // A quoted value over two lines: one row (its line is where it starts), refused as a plan
      // (a string trait is printable text), and the lines after it are counted right.
      row = `imp-u-${i},"pro\nplan",2,true,user${i}@example.com,,`;
      bad.set(line, 'traits.plan');
      lines.push(row);
      line += 2;
      continue;
    } else if (i === 779) {
      // A quoted value with a comma and a doubled quote.
      row = `imp-u-${i},"pro, ""annual""",2,true,user${i}@example.com,,`;
    }
    lines.push(row);
    line++;
  }
  return { text: `${lines.join('\n')}\n`, bad };
};

describe('bulk import of 100,000 rows with bad lines', () => {
  it('applies the good rows once, reports the bad ones by line and reason, and resumes after a crash', async () => {
    const { text, bad } = bigCsv();
    const job = await newJob('imp_bigcsv00001', csvMapping);
    await store.put(job.objectKey, text);
    // Before the import: 100 people tagged `legacy` by hand (the import removes it), one erased.
    for (let i = 126; i <= 100_000; i += 1000)
      await tags.personTagsStore.changeManualTags(`imp-u-${i}`, { add: ['legacy'], remove: [] }, new Date());
    await new ConsentRepository(db, emulators.names.tables.consent).markErased(
      keyedIdHash(key, 'imp-u-125'),
      new Date(),
    );
    expect(await tags.segmentSize('legacy')).toBe(100);

    const published: Accepted[] = [];
    let publishes = 0;
    let now = Date.now();
    const deps = (over: Partial<ImportDeps> = {}): ImportDeps => ({
      imports,
      store,
      traits: traitContext,
      publish: async (events) => {
        published.push(...events);
      },
      tags: importTags,
      clock: () => now,
      chunkRows: 10_000,
      ...over,
    });
    // The run dies right after its 4th chunk reached the stream (and its tags the tags table),
    // before that chunk's checkpoint.
    await expect(
      runImport(
        deps({
          publish: async (events) => {
            published.push(...events);
            if (++publishes === 4) throw new Error('process killed');
          },
        }),
        job,
        now + 600_000,
      ),
    ).rejects.toThrow('process killed');
    const crashed = (await imports.get(job.importId)) as ImportJob;
    expect(crashed).toMatchObject({ status: 'running', rows: 30_000 });
    // The checkpoint is a byte offset: the next run reads from there, not from the start.
    expect(Buffer.from(text).subarray(crashed.nextByte).toString('utf8', 0, 12)).toBe('imp-u-30001,');
    // Its lease keeps another run off until it lapses.
    expect(await runImport(deps(), crashed, now + 600_000)).toBeUndefined();

    now = (crashed.leaseUntil ?? 0) + 1;
    const done = await runImport(deps(), crashed, now + 600_000);
    expect(done).toMatchObject({
      status: 'completed',
      rows: 100_000,
      rejected: bad.size,
      applied: 100_000 - bad.size,
    });
    const report = (await imports.get(job.importId)) as ImportJob;
    expect(report.rejections.map((r) => r.line)).toEqual([...bad.keys()]);
    for (const r of report.rejections) expect(r.reasons.join(' ')).toContain(bad.get(r.line));
    // Reasons name fields, never values.
    expect(JSON.stringify(report.rejections)).not.toMatch(/many|imp-u-|example\.com|Bad Tag/);

    // Tags went the tags routes' way, once each though a chunk of them went twice: exact sizes.
    expect(await tags.segmentSize('vip')).toBe(199);
    expect(await tags.countMembers('vip')).toBe(199);
    expect(await tags.segmentSize('imported')).toBe(99);
    expect(await tags.segmentSize('legacy')).toBe(0);
    expect(await tags.personTags('imp-u-1125')).toEqual([
      { tag: 'imported', source: 'manual', setAt: expect.any(String) },
      { tag: 'vip', source: 'manual', setAt: expect.any(String) },
    ]);
    expect(await tags.personTags('imp-u-125')).toEqual([]);

    // The 4th chunk went twice; its events have the same ids, so the stream's consumer applies it once.
    const ids = published.map((a) => a.event.eventId);
    expect(ids.length).toBe(
      100_000 - bad.size + 10_000 - [...bad.keys()].filter((l) => l > 30_002 && l <= 40_002).length,
    );
    expect(new Set(ids).size).toBe(100_000 - bad.size);
    // The upload is gone once applied.
    expect(await store.get(job.objectKey)).toBeUndefined();

    // Through the consumer: a sample lands on the people, hashed where declared so.
    const t = emulators.names.tables;
    const people = new PeopleRepository(db, t.users);
    const sample = published.filter((a) => ['imp-u-1', 'imp-u-779'].includes(a.event.personKey));
    await applyBatch(
      sample.map((a, i) => toRecord(a.event, i + 1)),
      {
        people,
        counters: new MetricsRepository(db, t.metrics),
        quarantine: new QuarantineRepository(db, t.quarantine),
      },
    );
    const loaded = await people.load(['imp-u-1', 'imp-u-779']);
    expect(traitValues(loaded.people.get('imp-u-1')?.stats.traits)).toEqual({
      plan: 'pro',
      seats: 1,
      vip: true,
      email: traitHash(key, 'user1@example.com'),
    });
    expect(traitValues(loaded.people.get('imp-u-779')?.stats.traits).plan).toBe('pro, "annual"');
  }, 240_000);

  it('stops at its deadline after a checkpoint, and the next run goes on from there', async () => {
    const job = await newJob('imp_deadline0001', {
      format: 'ndjson',
      mapping: { userId: 'id', traits: { seats: 'n' } },
    });
    await store.put(
      job.objectKey,
      Array.from({ length: 7 }, (_, i) => `{"id":"dl-${i}","n":${i}}\n`).join(''),
    );
    const published: Accepted[] = [];
    let now = Date.now();
    const deps: ImportDeps = {
      imports,
      store,
      traits: traitContext,
      publish: async (e) => void published.push(...e),
      clock: () => now,
      chunkRows: 3,
    };
    // Each run has till `now`: it applies one chunk, checkpoints, and stops.
    const first = await runImport(deps, job, now);
    expect(first).toMatchObject({ status: 'running', rows: 3, nextLine: 4, nextByte: 3 * 20 });
    now += 1;
    const second = await runImport(deps, first as ImportJob, now);
    expect(second).toMatchObject({ status: 'running', rows: 6, nextLine: 7 });
    const last = await runImport(deps, second as ImportJob, now + 60_000);
    expect(last).toMatchObject({ status: 'completed', rows: 7, applied: 7 });
    expect(published.map((a) => a.event.data.traits)).toEqual(
      Array.from({ length: 7 }, (_, n) => ({ seats: n })),
    );

    // A job checkpointed by line only (before byte offsets) resumes at its line.
    const legacy = await newJob('imp_legacyline01', {
      format: 'ndjson',
      mapping: { userId: 'id', traits: { seats: 'n' } },
    });
    await store.put(
      legacy.objectKey,
      Array.from({ length: 5 }, (_, i) => `{"id":"lg-${i}","n":${i}}\n`).join(''),
    );
    published.length = 0;
    const resumed = await runImport(
      deps,
      { ...legacy, status: 'running', nextLine: 4, rows: 3, applied: 3 },
      now + 60_000,
    );
    expect(resumed).toMatchObject({ status: 'completed', rows: 5, applied: 5 });
    expect(published.map((a) => a.event.data.traits)).toEqual([{ seats: 3 }, { seats: 4 }]);
  });

  it('refuses a tag row that would take a person past 100 manual tags, and keeps the others', async () => {
    const job = await newJob('imp_taglimit0001', {
      format: 'ndjson',
      mapping: { userId: 'id', tags: { add: 't' } },
    });
    const hundred = Array.from({ length: 100 }, (_, i) => `t${i}`);
    await store.put(
      job.objectKey,
      [
        { id: 'lim-1', t: hundred },
        { id: 'lim-1', t: ['extra'] },
        { id: 'lim-2', t: 'extra' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const deps = tagsOnly(importTags);
    const done = await runImport(deps, job, Date.now() + 60_000);
    expect(done).toMatchObject({
      status: 'completed',
      rows: 3,
      applied: 2,
      rejected: 1,
      rejections: [{ line: 2, reasons: ['A person carries at most 100 manual tags; this would make 101'] }],
    });
    expect((await tags.personTags('lim-1')).length).toBe(100);
    expect((await tags.personTags('lim-2')).map((t) => t.tag)).toEqual(['extra']);
  });

  it('an imported tag is a segment entry for the destinations following it, once though sent twice', async () => {
    const t = emulators.names.tables;
    await new DestinationsRepository(db, t.destinations).put({
      destinationId: 'dest-imports',
      type: 'webhook',
      enabled: true,
      filter: {},
      settings: { url: 'http://127.0.0.1:9/hook' },
      consentPurpose: 'marketing',
      audiences: ['imported_audience'],
      credentialFields: [],
      createdAt: '',
      updatedAt: '',
    } satisfies Destination);
    const withTriggers = new ImportTags({
      tags: new TagsRepository(db, t.tags, new MembershipTriggers(db, t.destinations, t.outbox, 0))
        .personTagsStore,
      identity: new IdentityReader(db, t.users),
      consent: new ConsentRepository(db, t.consent),
      key: async () => key,
    });
    const job = await newJob('imp_triggers0001', {
      format: 'csv',
      mapping: { userId: 'id', tags: { add: 'tags' } },
    });
    await store.put(job.objectKey, 'id,tags\naud-1,imported_audience\n');
    const deps = tagsOnly(withTriggers);
    expect(await runImport(deps, job, Date.now() + 60_000)).toMatchObject({
      status: 'completed',
      applied: 1,
    });
    // The same row again (a chunk re-sent after a crash): nothing new enters.
    await withTriggers.apply(
      [{ line: 2, userId: 'aud-1', add: ['imported_audience'], remove: [] }],
      new Date(),
    );
    const due = await new OutboxRepository(db, t.outbox).due(
      'dest-imports',
      new Date(Date.now() + 60_000),
      10,
    );
    expect(due.map((d) => [d.message.kind, d.message.personKey, d.message.segment])).toEqual([
      ['segment.entered', 'aud-1', 'imported_audience'],
    ]);
  });

  it('reads NDJSON (null unsets), and fails a CSV whose header lacks a mapped column', async () => {
    const job = await newJob('imp_ndjson00001', {
      format: 'ndjson',
      mapping: { userId: 'id', traits: { plan: 'plan', seats: 'n' } },
    });
    await store.put(
      job.objectKey,
      '{"id":"nd-1","plan":"pro","n":3}\n\nnot json\n{"id":"nd-2","plan":null}\n[1]\n',
    );
    const published: Accepted[] = [];
    const deps: ImportDeps = {
      imports,
      store,
      traits: traitContext,
      publish: async (e) => void published.push(...e),
      tags: importTags,
    };
    const done = await runImport(deps, job, Date.now() + 60_000);
    expect(done).toMatchObject({ status: 'completed', rows: 4, applied: 2, rejected: 2 });
    expect(done?.rejections).toEqual([
      { line: 3, reasons: ['Not valid JSON'] },
      { line: 5, reasons: ['Expected a JSON object on the line'] },
    ]);
    expect(published.map((a) => a.event.data.traits)).toEqual([{ plan: 'pro', seats: 3 }, { plan: null }]);

    const missing = await newJob('imp_missing00001', csvMapping);
    await store.put(missing.objectKey, 'customer_id,plan\nu,pro\n');
    expect(await runImport(deps, missing, Date.now() + 60_000)).toMatchObject({
      status: 'failed',
      error: 'The header lacks the mapped column(s): seats, vip, email, tags, untag',
    });
    // The file is gone once the job failed, too.
    expect(await store.get(missing.objectKey)).toBeUndefined();
    // A running job whose file the bucket's expiry took fails, saying so.
    const gone = await newJob('imp_gone00000001', csvMapping);
    expect(await runImport(deps, { ...gone, status: 'running' }, Date.now() + 60_000)).toMatchObject({
      status: 'failed',
      error: 'The upload is gone: the imports bucket expires files after 7 days',
    });
    // Not uploaded yet: the job waits (and expires after a day).
    const waiting = await newJob('imp_waiting00001', csvMapping);
    expect(await runImport(deps, waiting, Date.now() + 60_000)).toMatchObject({ status: 'awaiting_upload' });
  });
});
