/**
 * Bulk imports of traits, pure: the request (format and mapping), reading an uploaded file into
 * rows with their line numbers (CSV per RFC 4180 — quoted fields, doubled quotes, line breaks
 * inside quotes — or NDJSON), and a row as a trait update or the reasons it is rejected. Reasons
 * name fields and columns, never values. The job that runs them is functions/traits/import-runner.ts.
 */
import * as z from 'zod/mini';
import { personIdSchema } from './events';
import { checkTraits, fromText, type TraitChanges, type TraitContext, traitNameSchema } from './traits';

export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const IMPORT_LIMITS = {
  /** Rejected rows listed with their line and reasons (all are counted). */
  listedRejections: 1000,
  /** Traits one import maps. */
  traits: 100,
  /** Largest upload read (bytes). */
  fileBytes: 512 * 1024 * 1024,
} as const;

const column = z.string().check(z.minLength(1), z.maxLength(256));

export const importBodySchema = z.strictObject({
  format: z.enum(IMPORT_FORMATS),
  mapping: z.strictObject({
    /** The column (CSV header) or field (NDJSON) holding the Pulse user id. */
    userId: column,
    /** Declared trait → the column or field holding its value. */
    traits: z.record(traitNameSchema, column).check(
      z.refine((t) => Object.keys(t).length >= 1 && Object.keys(t).length <= IMPORT_LIMITS.traits, {
        message: `Map 1..${IMPORT_LIMITS.traits} traits`,
      }),
    ),
  }),
});
export type ImportBody = z.infer<typeof importBodySchema>;

export interface Row {
  /** Line of the file the row starts on (1-based; a CSV's header is line 1). */
  line: number;
  /** Column or field → value: text for CSV, JSON values for NDJSON; undefined when unreadable. */
  fields?: Record<string, unknown>;
  /** Why the row could not be read at all. */
  error?: string;
}

/** CSV records with the line each starts on: quoted fields may hold commas, quotes and line breaks. */
function* csvRecords(text: string): Generator<{ line: number; cells: string[] }> {
  let line = 1;
  let start = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '') {
      quoted = true;
      any = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || cell !== '') yield { line: start, cells: [...cells, cell] };
      line++;
      start = line;
      cells = [];
      cell = '';
      any = false;
    } else {
      cell += ch;
      any = true;
    }
  }
  if (any || cell !== '') yield { line: start, cells: [...cells, cell] };
}

/** The rows of an upload, from `fromLine` on (a resumed job skips what it applied). */
export function* readRows(text: string, format: ImportFormat, fromLine = 0): Generator<Row> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (format === 'ndjson') {
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = i + 1;
      const raw = (lines[i] as string).trim();
      if (line < fromLine || raw === '') continue;
      try {
        const value: unknown = JSON.parse(raw);
        if (!value || typeof value !== 'object' || Array.isArray(value))
          yield { line, error: 'Expected a JSON object on the line' };
        else yield { line, fields: value as Record<string, unknown> };
      } catch {
        yield { line, error: 'Not valid JSON' };
      }
    }
    return;
  }
  let header: string[] | undefined;
  for (const record of csvRecords(body)) {
    if (!header) {
      header = record.cells.map((c) => c.trim());
      continue;
    }
    if (record.line < fromLine) continue;
    if (record.cells.length !== header.length) {
      yield { line: record.line, error: `Expected ${header.length} columns, found ${record.cells.length}` };
      continue;
    }
    yield { line: record.line, fields: Object.fromEntries(header.map((h, i) => [h, record.cells[i]])) };
  }
}

/** The columns a CSV's header lacks for this mapping (checked before any row is applied). */
export const missingColumns = (text: string, mapping: ImportBody['mapping']): string[] => {
  const first = csvRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).next();
  const header = new Set(first.done ? [] : first.value.cells.map((c) => c.trim()));
  return [mapping.userId, ...Object.values(mapping.traits)].filter((c) => !header.has(c));
};

export type RowOutcome =
  | { ok: true; userId: string; traits: TraitChanges }
  | { ok: false; reasons: string[] };

/**
 * A row as a trait update. CSV cells are text (parsed by the declared type; an empty cell leaves
 * the trait as it is); NDJSON values are JSON (null unsets). The reasons name paths, never values.
 */
export const rowUpdate = (row: Row, body: ImportBody, ctx: TraitContext): RowOutcome => {
  if (!row.fields) return { ok: false, reasons: [row.error ?? 'Unreadable row'] };
  const { fields } = row;
  const rawId = fields[body.mapping.userId];
  const userId = personIdSchema.safeParse(typeof rawId === 'string' ? rawId.trim() : rawId);
  const reasons: string[] = [];
  if (!userId.success) reasons.push(`${body.mapping.userId}: missing or not a valid user id`);
  const raw: Record<string, unknown> = {};
  for (const [trait, col] of Object.entries(body.mapping.traits)) {
    const value = Object.hasOwn(fields, col) ? fields[col] : undefined;
    if (value === undefined) continue;
    if (body.format === 'csv') {
      const decl = ctx.declarations.get(trait);
      if (value === '' || !decl) continue;
      raw[trait] = fromText(decl.type, value as string);
    } else raw[trait] = value;
  }
  const checked = checkTraits(raw, ctx, 'traits');
  if (!checked.ok) reasons.push(...checked.errors.map((e) => `${e.path}: ${e.message}`));
  if (reasons.length > 0 || !userId.success || !checked.ok) return { ok: false, reasons };
  if (Object.keys(checked.traits).length === 0)
    return { ok: false, reasons: ['No mapped trait has a value'] };
  return { ok: true, userId: userId.data, traits: checked.traits };
};
