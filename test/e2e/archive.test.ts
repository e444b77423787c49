/**
 * The archive end to end on the local stack: events over HTTP → the local Firehose → Parquet files
 * → a funnel and a retention query over HTTP, whose numbers equal what this test computes from
 * what it sent — with an anonymous id merged into its user, a client retry, and a consent
 * withdrawn; then an export round-trips, and after erasure no query finds the person.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckArchive, parquetFiles } from '../../functions/adapters/duckdb-archive';
import { archiveSelectSql, canonicalFromRow, personFilter } from '../../functions/core/archive';
import { type E2E, eventually, json, startE2E } from '../support/e2e';
import { validEvent } from '../support/events';

let e2e: E2E;
beforeAll(async () => {
  // Firehose's buffering, shortened: the time-triggered flush is what delivers here.
  e2e = await startE2E({ archive: { buffering: { sizeBytes: 1024 * 1024, intervalMs: 300 } } });
});
afterAll(async () => {
  await e2e?.close();
});

const DAY = 86_400_000;
const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const day = (n: number) => new Date(today - n * DAY).toISOString().slice(0, 10);
/** `n` days ago at hh:mm UTC: always in the past for n >= 1. */
const at = (n: number, hh: number, mm: number) =>
  new Date(today - n * DAY + (hh * 60 + mm) * 60_000).toISOString();

const analyst = () => ({ authorization: `Bearer ${e2e.analyst}` });

const send = async (token: string, type: string, fields: Record<string, unknown>) => {
  const res = await e2e.call(`/api/engagement/${type}`, {
    method: 'POST',
    headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': token },
    json: {
      ...validEvent(type as 'click', { campaignId: 'archive', channel: 'web', ...fields }),
      type: undefined,
    },
  });
  expect(res.status).toBe(202);
};

/** Start an analysis, then poll it until it has an answer. */
const analyse = async (body: unknown) => {
  const started = await e2e.call('/api/analytics/queries', {
    method: 'POST',
    headers: analyst(),
    json: body,
  });
  expect(started.status).toBe(202);
  const { queryId } = await json(started);
  return eventually(async () => {
    const res = await e2e.call(`/api/analytics/queries/${queryId}`, { headers: analyst() });
    const answer = await json(res);
    if (answer.status !== 'succeeded') throw new Error(`analysis ${answer.status}: ${answer.error ?? ''}`);
    return answer.result;
  });
};

const funnel = {
  analysis: 'funnel',
  from: day(2),
  to: day(0),
  steps: [{ type: 'view' }, { type: 'click' }, { type: 'conversion' }],
  windowSeconds: 3 * 86_400,
};

/** Rows in the archive's files for a filter (straight from Parquet, not through the API). */
const archivedRows = async (where: string) => {
  const duck = await DuckArchive.open(e2e.stack.archive.dir);
  try {
    const select = archiveSelectSql(duck.source(), { from: day(3), to: day(0) });
    return await duck.query(`SELECT * FROM (${select}) s WHERE ${where}`);
  } finally {
    duck.close();
  }
};

describe('the archive', () => {
  it('answers a funnel and a retention query with the ground truth of what was sent', async () => {
    const alice = await e2e.consent('u-alice');
    const anonBob = await e2e.consent('a-bob');
    const bob = await e2e.consent('u-bob');
    const carol = await e2e.consent('u-carol');

    // Alice: view → click (sent twice: a client retry) → conversion; back the next day.
    await send(alice, 'view', { eventId: 'al-1', userId: 'u-alice', timestamp: at(2, 10, 0) });
    await send(alice, 'click', { eventId: 'al-2', userId: 'u-alice', timestamp: at(2, 10, 5) });
    await send(alice, 'click', { eventId: 'al-2', userId: 'u-alice', timestamp: at(2, 10, 5) });
    await send(alice, 'click', { eventId: 'al-3', userId: 'u-alice', timestamp: at(1, 10, 0) });
    await send(alice, 'conversion', { eventId: 'al-4', userId: 'u-alice', timestamp: at(1, 10, 30) });
    // Bob: view and click anonymously, logs in, converts and comes back as his user.
    await send(anonBob, 'view', {
      eventId: 'bo-1',
      anonymousId: 'a-bob',
      userId: undefined,
      timestamp: at(2, 10, 1),
    });
    await send(anonBob, 'click', {
      eventId: 'bo-2',
      anonymousId: 'a-bob',
      userId: undefined,
      timestamp: at(2, 10, 6),
    });
    const identify = await e2e.call('/api/identify', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey, 'x-consent-token': anonBob },
      json: { anonymousId: 'a-bob', userId: 'u-bob' },
    });
    expect(identify.status).toBe(202);
    await send(bob, 'conversion', { eventId: 'bo-3', userId: 'u-bob', timestamp: at(1, 10, 40) });
    await send(bob, 'click', { eventId: 'bo-4', userId: 'u-bob', timestamp: at(1, 10, 41) });
    // Carol views, then withdraws; her click, sent later with her old token, is not archived.
    await send(carol, 'view', { eventId: 'ca-1', userId: 'u-carol', timestamp: at(2, 10, 2) });
    await eventually(async () => expect(await archivedRows(`event_id = 'ca-1'`)).toHaveLength(1));
    const withdrawn = await e2e.call('/api/users/u-carol/consent', {
      method: 'PUT',
      headers: { 'x-api-key': e2e.writeKey },
      json: { purposes: { analytics: false }, policyVersion: 'test-1', source: 'e2e' },
    });
    expect(withdrawn.status).toBe(200);
    await send(carol, 'click', { eventId: 'ca-2', userId: 'u-carol', timestamp: at(2, 10, 7) });

    // Everything sent (the withdrawn click aside) is queryable; the retry may be archived twice.
    await eventually(async () => {
      const ids = new Set((await archivedRows('true')).map((r) => r.event_id));
      expect(ids).toEqual(
        new Set(['al-1', 'al-2', 'al-3', 'al-4', 'bo-1', 'bo-2', 'bo-3', 'bo-4', 'ca-1', ...ids]),
      );
      expect(ids.size).toBeGreaterThanOrEqual(10); // nine events and the identify
    });
    // Carol's click never arrives: the Firehose delivered the records after it (bo-4 was sent before
    // it, so wait for the stream to be read past it by looking for a marker sent after it).
    await send(alice, 'view', { eventId: 'marker', userId: 'u-alice', timestamp: at(0, 0, 0) });
    await eventually(async () => expect(await archivedRows(`event_id = 'marker'`)).toHaveLength(1));
    expect(await archivedRows(`event_id = 'ca-2'`)).toEqual([]);
    expect(await archivedRows(`type = 'identify'`)).toMatchObject([
      { anonymous_id: 'a-bob', user_id: 'u-bob' },
    ]);

    // Ground truth: view: alice, bob (one person with a-bob), carol; click: alice, bob;
    // conversion: alice, bob. View → click: 5 and 5 minutes; click → conversion: alice 10:05 →
    // next day 10:30, bob 10:06 → next day 10:40.
    const f = await analyse(funnel);
    expect(f.steps.map((s: { people: number }) => s.people)).toEqual([3, 2, 2]);
    expect(
      f.steps.map((s: { medianSecondsFromPrevious: number | null }) => s.medianSecondsFromPrevious),
    ).toEqual([null, 300, (86_400 + 25 * 60 + 86_400 + 34 * 60) / 2]);

    // Retention, view cohort, click return, by day: the cohort two days ago is alice, bob, carol
    // (alice's marker view today starts no new cohort: her first view is earlier); back on day 1:
    // alice and bob (as u-bob); nobody on day 2 (today).
    const r = await analyse({
      analysis: 'retention',
      from: day(2),
      to: day(0),
      cohort: { type: 'view' },
      return: { type: 'click' },
      period: 'day',
      periods: 2,
    });
    expect(r.cohorts).toEqual([{ start: day(2), people: 3, returned: [2, 0], rates: [2 / 3, 0] }]);

    // Paths after a view: alice and bob clicked next (bob's anonymous click is his).
    const p = await analyse({ analysis: 'paths', from: day(2), to: day(0), after: { type: 'view' } });
    expect(p.paths[0]).toEqual({ events: ['click'], occurrences: 2, people: 2 });
    expect(parquetFiles(e2e.stack.archive.dir).length).toBeGreaterThan(0);
    expect(personFilter(['x'])).toContain("'x'");
  });

  it('exports the archive as NDJSON and Parquet through presigned URLs', async () => {
    const admin = { authorization: `Bearer ${e2e.admin}` };
    const archived = new Set((await archivedRows('true')).map((r) => String(r.event_id)));
    expect(archived.size).toBeGreaterThan(0);
    const run = async (format: 'ndjson' | 'parquet') => {
      const started = await e2e.call('/api/exports', {
        method: 'POST',
        headers: admin,
        json: { from: day(3), to: day(0), format },
      });
      expect(started.status).toBe(202);
      const { exportId } = await json(started);
      const done = await eventually(async () => {
        const answer = await json(await e2e.call(`/api/exports/${exportId}`, { headers: admin }));
        if (answer.status !== 'succeeded') throw new Error(`export ${answer.status}: ${answer.error ?? ''}`);
        return answer;
      });
      expect(done.files.length).toBeGreaterThan(0);
      // The URLs work without credentials, as S3's presigned ones do.
      return Promise.all(
        done.files.map(async (f: { url: string }) => Buffer.from(await (await fetch(f.url)).arrayBuffer())),
      );
    };
    const lines = (await run('ndjson'))
      .map((b) => b.toString('utf8'))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(new Set(lines.map((r) => r.event_id))).toEqual(archived);
    expect(lines).toHaveLength(archived.size); // each event once
    const parquet = await run('parquet');
    const dir = mkdtempSync(join(tmpdir(), 'pulse-export-'));
    const duck = await DuckArchive.open(dir);
    try {
      for (const [i, b] of parquet.entries()) writeFileSync(join(dir, `f${i}.parquet`), b);
      const rows = await duck.query(`SELECT * FROM read_parquet('${join(dir, '*.parquet')}')`);
      expect(new Set(rows.map((r) => r.event_id))).toEqual(archived);
      expect(rows.map(canonicalFromRow).find((e) => e.eventId === 'al-4')).toMatchObject({
        type: 'conversion',
        userId: 'u-alice',
        campaignId: 'archive',
      });
    } finally {
      duck.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exports a person's archived events, and erasure removes every row of every id of theirs", async () => {
    const admin = { authorization: `Bearer ${e2e.admin}` };
    const exported = await json(await e2e.call('/api/users/a-bob/export', { headers: admin }));
    const events = exported.stores.archive as { eventId: string; type: string; anonymousId?: string }[];
    expect(events.filter((e) => e.type !== 'identify').map((e) => e.eventId)).toEqual([
      'bo-1',
      'bo-2',
      'bo-3',
      'bo-4',
    ]);
    expect(events.filter((e) => e.type === 'identify')).toMatchObject([{ anonymousId: 'a-bob' }]);

    const erased = await e2e.call('/api/users/u-bob', { method: 'DELETE', headers: admin });
    expect(erased.status).toBe(200);
    const body = await json(erased);
    expect(Date.parse(body.completeBy.archive)).toBeGreaterThan(Date.now());
    // The rewrite runs on its schedule, once Firehose has had time to land what it held.
    const bob = personFilter(['u-bob', 'a-bob']);
    expect((await archivedRows(bob)).length).toBeGreaterThan(0);
    const outcome = (await e2e.stack.runSchedule('archive-erasure', {
      time: new Date(Date.now() + 11 * 60_000),
    })) as { complete: boolean; rowsRemoved: number };
    expect(outcome).toMatchObject({ complete: true });
    expect(outcome.rowsRemoved).toBeGreaterThanOrEqual(5);
    expect(await archivedRows(bob)).toEqual([]);
    // Nobody else lost a row; the funnel now counts alice and carol.
    expect((await archivedRows(`event_id = 'al-4'`)).length).toBe(1);
    const f = await analyse(funnel);
    expect(f.steps.map((s: { people: number }) => s.people)).toEqual([2, 1, 1]);
    const again = await json(await e2e.call('/api/users/a-bob/export', { headers: admin }));
    expect(again.stores?.archive ?? []).toEqual([]);
  });

  it('refuses a malformed analysis with a 400 naming the field', async () => {
    const res = await e2e.call('/api/analytics/queries', {
      method: 'POST',
      headers: analyst(),
      json: { ...funnel, steps: [{ type: 'view' }, { type: 'teleport' }] },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).errors.map((e: { path: string }) => e.path)).toContain('steps.1.type');
    const unknown = await e2e.call('/api/analytics/queries/00000000-0000-4000-8000-000000000000', {
      headers: analyst(),
    });
    expect(unknown.status).toBe(404);
    const writeKey = await e2e.call('/api/analytics/queries', {
      method: 'POST',
      headers: { 'x-api-key': e2e.writeKey },
      json: funnel,
    });
    expect(writeKey.status).toBe(401);
  });
});
