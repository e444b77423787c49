import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FILE_START,
  type RawRecord,
  type ReadPosition,
  RecordReader,
  RecordTooLarge,
} from '../../functions/core/import-records';
import { importBodySchema, readRows, rowUpdate } from '../../functions/core/imports';
import type { TraitContext } from '../../functions/core/traits';
import { parseWith } from '../../functions/core/zod';

const encode = (s: string) => new TextEncoder().encode(s);

/** Every record of `bytes`, pushed in pieces cut at `cuts` (byte offsets, any order). */
const parseInPieces = (
  format: 'csv' | 'ndjson',
  bytes: Uint8Array,
  cuts: number[] = [],
  from: ReadPosition = FILE_START,
): RawRecord[] => {
  const reader = new RecordReader(format, from);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: RawRecord[] = [];
  let start = 0;
  for (const cut of [...at, bytes.length]) {
    out.push(...reader.push(bytes.slice(start, cut)));
    start = cut;
  }
  return [...out, ...reader.end()];
};

// Text rich in what CSV and NDJSON care about, and in multi-byte characters a cut can split.
const piece = fc.constantFrom(
  'a',
  'b',
  ',',
  '"',
  '""',
  '\n',
  '\r\n',
  '\r',
  ' ',
  'é',
  '€',
  '😀',
  '{}',
  '\uFEFF',
);
const fileText = fc.array(piece, { maxLength: 80 }).map((p) => p.join(''));
const cutsOf = fc.array(fc.nat(400), { maxLength: 12 });

describe('incremental record reading', () => {
  for (const format of ['csv', 'ndjson'] as const)
    it(`${format}: chunked parsing at any split equals whole parsing`, () => {
      fc.assert(
        fc.property(fileText, cutsOf, fc.boolean(), (text, cuts, bom) => {
          const bytes = encode(bom ? `\uFEFF${text}` : text);
          expect(parseInPieces(format, bytes, cuts)).toEqual(parseInPieces(format, bytes));
        }),
        { numRuns: 500 },
      );
    });

  it('resumes from any record boundary as if it had never stopped', () => {
    fc.assert(
      fc.property(fileText, cutsOf, fc.nat(), (text, cuts, pick) => {
        const bytes = encode(text);
        const whole = parseInPieces('csv', bytes);
        if (whole.length === 0) return;
        const i = pick % whole.length;
        const at = (whole[i] as RawRecord).next;
        const rest = parseInPieces('csv', bytes.slice(at.byte), cuts, at);
        expect(rest).toEqual(whole.slice(i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('reads back any table written per RFC 4180, with the line each row starts on', () => {
    const cell = fc.string({ unit: fc.constantFrom('x', 'é', ',', '"', '\n', ' ', '😀'), maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { maxLength: 10 }),
        cutsOf,
        (rows, cuts) => {
          const quote = (c: string) => (/[",\n]/.test(c) || c === '' ? `"${c.replaceAll('"', '""')}"` : c);
          const text = rows.map((r) => r.map(quote).join(',')).join('\r\n');
          const records = parseInPieces('csv', encode(text), cuts);
          expect(records.map((r) => r.cells)).toEqual(rows);
          let line = 1;
          records.forEach((r, i) => {
            expect(r.line).toBe(line);
            line += (rows[i] as string[]).join('').split('\n').length;
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips a byte-order mark and blank lines, counting them, and tells where the next record starts', () => {
    const text = '\uFEFFid,plan\n\nu1,"a\nb"\r\nu2,c';
    expect(parseInPieces('csv', encode(text), [1, 2, 14])).toEqual([
      { line: 1, next: { byte: 11, line: 2 }, cells: ['id', 'plan'] },
      { line: 3, next: { byte: 22, line: 5 }, cells: ['u1', 'a\nb'] },
      { line: 5, next: { byte: 26, line: 5 }, cells: ['u2', 'c'] },
    ]);
  });

  it('refuses a record that runs past its byte limit, naming only its line', () => {
    const reader = new RecordReader('csv', FILE_START, 64);
    expect([...reader.push(encode('id,plan\nu1,ok\n'))]).toHaveLength(2);
    expect(() => [...reader.push(encode(`u2,"never closed ${'x'.repeat(100)}`))]).toThrow(RecordTooLarge);
    expect(() => [...new RecordReader('csv', FILE_START, 64).push(encode(`"${'x'.repeat(100)}`))]).toThrow(
      /line 1 runs past 64 bytes/,
    );
  });
});

const ctx: TraitContext = {
  declarations: new Map([
    ['plan', { name: 'plan', type: 'string', pii: 'none', purpose: 'marketing' }],
  ]) as never,
};

describe('tags in an import mapping', () => {
  const mapping = { userId: 'id', traits: { plan: 'plan' }, tags: { add: 'tags', remove: 'untag' } };
  const body = { format: 'csv' as const, mapping };
  const rows = readRows(
    [
      'id,plan,tags,untag',
      'u1,pro,vip; churn_risk,',
      'u2,,,old',
      'u3,pro,VIP,',
      'u4,pro,vip,vip',
      'u5,,,',
    ].join('\n'),
    'csv',
  );

  it('reads tags to add and to remove, split on ;', () => {
    expect(rowUpdate(rows[0] as never, body, ctx)).toEqual({
      ok: true,
      userId: 'u1',
      traits: { plan: 'pro' },
      tags: { add: ['vip', 'churn_risk'], remove: [] },
    });
    expect(rowUpdate(rows[1] as never, body, ctx)).toEqual({
      ok: true,
      userId: 'u2',
      traits: {},
      tags: { add: [], remove: ['old'] },
    });
  });

  it('refuses a bad tag by column and position, never by value', () => {
    const bad = rowUpdate(rows[2] as never, body, ctx);
    expect(bad).toEqual({
      ok: false,
      reasons: ['tags: tag 1: Expected 1..64 characters of a-z, 0-9, _, : and -'],
    });
    expect(JSON.stringify(bad)).not.toContain('VIP');
    expect(rowUpdate(rows[3] as never, body, ctx)).toEqual({
      ok: false,
      reasons: ['untag: 1 tag(s) both added and removed'],
    });
    expect(rowUpdate(rows[4] as never, body, ctx)).toEqual({
      ok: false,
      reasons: ['No mapped trait or tag has a value'],
    });
  });

  it('takes NDJSON tags as an array or as text, and refuses anything else', () => {
    const nd = { format: 'ndjson' as const, mapping: { userId: 'id', tags: { add: 't' } } };
    const [a, b, c] = readRows(
      '{"id":"a","t":["x","y"]}\n{"id":"b","t":"x;y"}\n{"id":"c","t":{"x":1}}\n',
      'ndjson',
    );
    expect(rowUpdate(a as never, nd, ctx)).toMatchObject({ ok: true, tags: { add: ['x', 'y'] } });
    expect(rowUpdate(b as never, nd, ctx)).toMatchObject({ ok: true, tags: { add: ['x', 'y'] } });
    expect(rowUpdate(c as never, nd, ctx)).toEqual({
      ok: false,
      reasons: ['t: Expected tags as text separated by ; or a JSON array'],
    });
    const many = readRows(
      `{"id":"d","t":${JSON.stringify(Array.from({ length: 101 }, (_, i) => `t${i}`))}}`,
      'ndjson',
    );
    expect(rowUpdate(many[0] as never, nd, ctx)).toEqual({
      ok: false,
      reasons: ['t: At most 100 tags a row, found 101'],
    });
  });

  it('accepts a mapping of tags alone, and refuses one that maps nothing', () => {
    expect(
      parseWith(importBodySchema, { format: 'csv', mapping: { userId: 'id', tags: { add: 't' } } }).ok,
    ).toBe(true);
    const none = parseWith(importBodySchema, { format: 'csv', mapping: { userId: 'id' } });
    expect(none.ok).toBe(false);
    const empty = parseWith(importBodySchema, { format: 'csv', mapping: { userId: 'id', tags: {} } });
    expect(empty.ok).toBe(false);
  });
});
