/**
 * The analyses' SQL, run by DuckDB over real Parquet files written the way the archive writes
 * them, against answers computed here from the events themselves (and, for funnels, against a
 * reference model on random histories).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archivedEvents } from '../../functions/adapters/archive-store';
import { DuckArchive } from '../../functions/adapters/duckdb-archive';
import { DuckEngine } from '../../functions/adapters/duckdb-engine';
import {
  type AnalysisRequest,
  analysisRequestSchema,
  analysisResult,
  analysisSql,
  type FunnelResult,
  type PathsResult,
  type RetentionResult,
} from '../../functions/core/analytics';
import { archiveRow, archiveSelectSql, canonicalFromRow, personFilter } from '../../functions/core/archive';
import { type CanonicalEvent, canonicalEvent } from '../../functions/core/events';
import { parseWith } from '../../functions/core/zod';

const T0 = Date.parse('2026-03-02T10:00:00Z'); // a Monday
const MIN = 60_000;
const DAY = 86_400_000;

let seq = 0;
const ev = (
  type: CanonicalEvent['type'],
  at: number,
  ids: { userId?: string; anonymousId?: string },
  extra: Partial<CanonicalEvent> = {},
): CanonicalEvent => {
  const iso = new Date(at).toISOString();
  return canonicalEvent({
    eventId: `e-${seq++}`,
    type,
    personKey: (ids.userId ?? ids.anonymousId) as string,
    ...ids,
    deviceType: 'mobile',
    channel: 'web',
    campaignId: 'spring',
    data: type === 'custom' ? { name: 'wishlist' } : {},
    properties: { plan: 'pro' },
    timestamp: iso,
    receivedAt: iso,
    eventTime: iso,
    sourceId: 'src-1',
    door: 'api',
    ...extra,
  });
};

const parse = (body: unknown): AnalysisRequest => {
  const r = parseWith(analysisRequestSchema, body);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};

let dir: string;
let archive: DuckArchive;
const run = async (body: unknown) => {
  const request = parse(body);
  return analysisResult(request, await archive.query(analysisSql(archive.source(), request)));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pulse-analytics-'));
  archive = await DuckArchive.open(dir);
});
afterAll(() => {
  archive.close();
  rmSync(dir, { recursive: true, force: true });
});

const reset = () => rmSync(join(dir, 'events'), { recursive: true, force: true });
const write = (events: readonly CanonicalEvent[]) => archive.writePartitioned(events.map(archiveRow));

describe('requests', () => {
  it('names the field of a malformed request', () => {
    const bad = parseWith(analysisRequestSchema, {
      analysis: 'funnel',
      from: '2026-01-01',
      to: '2026-12-31',
      steps: [{ type: 'view' }, { type: 'nope' }],
    });
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.errors.map((e) => e.path);
    expect(paths).toContain('steps.1.type');
    const range = parseWith(analysisRequestSchema, {
      analysis: 'paths',
      from: '2026-01-01',
      to: '2026-12-31',
      after: { type: 'view' },
    });
    expect(range.ok ? [] : range.errors.map((e) => e.path)).toEqual(['to']);
    const unknown = parseWith(analysisRequestSchema, { analysis: 'cohorts', from: '2026-01-01' });
    expect(unknown.ok).toBe(false);
  });

  it('quotes what it embeds in SQL', () => {
    const request = parse({
      analysis: 'paths',
      from: '2026-03-01',
      to: '2026-03-02',
      after: { type: 'custom', name: "it's'; DROP TABLE x; --" },
    });
    expect(analysisSql('events', request)).toContain("'it''s''; DROP TABLE x; --'");
  });
});

describe('funnel', () => {
  it('counts people through ordered steps within the window, after identity merges and once per event', async () => {
    reset();
    const events = [
      // u1: view → click → conversion, all within the window.
      ev('view', T0, { userId: 'u1' }),
      ev('click', T0 + 2 * MIN, { userId: 'u1' }),
      ev('conversion', T0 + 10 * MIN, { userId: 'u1' }),
      // a1 then logs in as u2: one person; the click is anonymous, the conversion as u2.
      ev('view', T0 + MIN, { anonymousId: 'a1' }),
      ev('click', T0 + 5 * MIN, { anonymousId: 'a1' }),
      ev('identify', T0 + 6 * MIN, { userId: 'u2', anonymousId: 'a1' }),
      ev('conversion', T0 + 7 * MIN, { userId: 'u2' }),
      // u3: click before view does not count as step 2; conversion out of the window.
      ev('click', T0, { userId: 'u3' }, { channel: 'ios' }),
      ev('view', T0 + MIN, { userId: 'u3' }, { channel: 'ios' }),
      ev('click', T0 + 3 * MIN, { userId: 'u3' }, { channel: 'ios' }),
      ev('conversion', T0 + 2 * DAY, { userId: 'u3' }, { channel: 'ios' }),
    ];
    // A client retry of u1's click, archived twice: counted once.
    const retry = { ...(events[1] as CanonicalEvent), receivedAt: new Date(T0 + 3 * MIN).toISOString() };
    await write([...events, retry]);
    const result = (await run({
      analysis: 'funnel',
      from: '2026-03-02',
      to: '2026-03-04',
      steps: [{ type: 'view' }, { type: 'click' }, { type: 'conversion' }],
      windowSeconds: 3600,
      breakdown: 'channel',
    })) as FunnelResult;
    expect(result.steps.map((s) => s.people)).toEqual([3, 3, 2]);
    expect(result.steps[1]?.conversionFromPrevious).toBe(1);
    expect(result.steps[2]?.conversionFromStart).toBeCloseTo(2 / 3);
    // Times from view to click: 2, 4 and 2 minutes → median 2; click to conversion: 8 and 2 → 5.
    expect(result.steps.map((s) => s.medianSecondsFromPrevious)).toEqual([null, 120, 300]);
    const byChannel = Object.fromEntries(
      (result.breakdown?.values ?? []).map((v) => [v.value, v.steps.map((s) => s.people)]),
    );
    expect(byChannel).toEqual({ web: [2, 2, 2], ios: [1, 1, 0] });
  });

  it('matches a reference model on random histories', async () => {
    const types = ['view', 'click', 'conversion'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            person: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
            type: fc.constantFrom(...types),
            minute: fc.integer({ min: 0, max: 600 }),
          }),
          { maxLength: 40 },
        ),
        async (history) => {
          reset();
          // One event per person and minute, so "strictly after" is unambiguous.
          const unique = [...new Map(history.map((h) => [`${h.person}@${h.minute}`, h])).values()];
          await write(unique.map((h) => ev(h.type, T0 + h.minute * MIN, { userId: h.person })));
          const windowMin = 120;
          const expected: number[] = [0, 0, 0];
          for (const person of new Set(unique.map((h) => h.person))) {
            const mine = unique.filter((h) => h.person === person).sort((a, b) => a.minute - b.minute);
            const first = mine.find((h) => h.type === 'view');
            if (!first) continue;
            expected[0] = (expected[0] ?? 0) + 1;
            let at = first.minute;
            for (const [i, type] of types.slice(1).entries()) {
              const next = mine.find(
                (h) => h.type === type && h.minute > at && h.minute <= first.minute + windowMin,
              );
              if (!next) break;
              expected[i + 1] = (expected[i + 1] ?? 0) + 1;
              at = next.minute;
            }
          }
          const result = (await run({
            analysis: 'funnel',
            from: '2026-03-02',
            to: '2026-03-02',
            steps: types.map((type) => ({ type })),
            windowSeconds: windowMin * 60,
          })) as FunnelResult;
          expect(result.steps.map((s) => s.people)).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('retention', () => {
  it('builds the triangle by day, with unobserved periods null', async () => {
    reset();
    await write([
      // Cohort of 2026-03-02: u1 (back on days 1 and 2), a1 → u2 (back on day 1, as u2).
      ev('view', T0, { userId: 'u1' }),
      ev('click', T0 + DAY, { userId: 'u1' }),
      ev('click', T0 + DAY + MIN, { userId: 'u1' }),
      ev('click', T0 + 2 * DAY, { userId: 'u1' }),
      ev('view', T0, { anonymousId: 'a1' }),
      ev('identify', T0 + MIN, { userId: 'u2', anonymousId: 'a1' }),
      ev('click', T0 + DAY, { userId: 'u2' }),
      // Cohort of 2026-03-03: u3, back on day 1.
      ev('view', T0 + DAY, { userId: 'u3' }),
      ev('click', T0 + 2 * DAY, { userId: 'u3' }),
    ]);
    const result = (await run({
      analysis: 'retention',
      from: '2026-03-02',
      to: '2026-03-04',
      cohort: { type: 'view' },
      return: { type: 'click' },
      period: 'day',
      periods: 3,
    })) as RetentionResult;
    expect(result.cohorts).toEqual([
      { start: '2026-03-02', people: 2, returned: [2, 1, null], rates: [1, 0.5, null] },
      { start: '2026-03-03', people: 1, returned: [1, null, null], rates: [1, null, null] },
    ]);
    const weekly = (await run({
      analysis: 'retention',
      from: '2026-03-02',
      to: '2026-03-20',
      cohort: { type: 'view' },
      return: { type: 'click' },
      period: 'week',
      periods: 2,
    })) as RetentionResult;
    // Everything falls in the week of Monday 2026-03-02: nobody back in a later week.
    expect(weekly.cohorts).toEqual([{ start: '2026-03-02', people: 3, returned: [0, 0], rates: [0, 0] }]);
  });
});

describe('paths', () => {
  it('ranks what comes next after an event', async () => {
    reset();
    await write([
      ev('view', T0, { userId: 'u1' }),
      ev('click', T0 + MIN, { userId: 'u1' }),
      ev('view', T0 + 2 * MIN, { userId: 'u1' }),
      ev('custom', T0 + 3 * MIN, { userId: 'u1' }),
      ev('view', T0, { userId: 'u2' }),
      ev('click', T0 + MIN, { userId: 'u2' }),
      ev('view', T0, { userId: 'u3' }),
    ]);
    const result = (await run({
      analysis: 'paths',
      from: '2026-03-02',
      to: '2026-03-02',
      after: { type: 'view' },
      depth: 2,
    })) as PathsResult;
    expect(result.paths).toEqual([
      { events: ['click', '(end)'], occurrences: 1, people: 1 },
      { events: ['click', 'view'], occurrences: 1, people: 1 },
      { events: ['custom:wishlist', '(end)'], occurrences: 1, people: 1 },
    ]);
  });
});

describe('archive rows', () => {
  it('round-trip to the canonical event through Parquet', async () => {
    reset();
    const events = [
      ev('conversion', T0, { userId: 'u1', anonymousId: 'a1' }, { data: { value: 9.5, currency: 'EUR' } }),
      ev('custom', T0 + MIN, { anonymousId: 'a2' }, { sentAt: new Date(T0 + 2 * MIN).toISOString() }),
    ];
    await write(events);
    const rows = await archive.query(
      archiveSelectSql(archive.source(), { from: '2026-03-02', to: '2026-03-02' }),
    );
    expect(rows.map(canonicalFromRow)).toEqual(events);
    expect(rows.map((r) => [r.dt, r.hour])).toEqual([
      ['2026-03-02', '10'],
      ['2026-03-02', '10'],
    ]);
  });

  it('keep every row of other people when a person is filtered out, NULL ids and all', async () => {
    reset();
    await write([
      ev('view', T0, { anonymousId: 'a1' }),
      ev('view', T0, { userId: 'u1' }),
      ev('view', T0, { userId: 'u2', anonymousId: 'a2' }),
    ]);
    const rows = await archive.query(
      `SELECT event_id FROM ${archive.source()} WHERE NOT ${personFilter(['u2', 'a9'])} ORDER BY event_id`,
    );
    expect(rows).toHaveLength(2);
  });

  it('are read back as canonical events in pages, between two dates', async () => {
    reset();
    const events = Array.from({ length: 5 }, (_, i) => ev('view', T0 + i * DAY, { userId: `u${i}` }));
    await write(events);
    const engine = new DuckEngine(archive, dir);
    const pages: CanonicalEvent[][] = [];
    for await (const page of archivedEvents(engine, { from: '2026-03-03', to: '2026-03-05' }))
      pages.push(page);
    expect(pages.flat()).toEqual(events.slice(1, 4));
  });
});
