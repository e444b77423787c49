/**
 * Bulk imports of traits and manual tags, pure: the request (format and mapping), an uploaded file's
 * records (functions/core/import-records.ts, read incrementally) as rows with their line numbers,
 * and a row as a trait update plus tag changes, or the reasons it is rejected. Reasons name fields,
 * columns and positions, never values. The job that runs them is functions/traits/importer.ts.
 */
import * as z from 'zod/mini';
import { personIdSchema } from './events';
import { FILE_START, type RawRecord, type ReadPosition, RecordReader } from './import-records';
import { isTag, MAX_TAGS_PER_REQUEST, TAG_MESSAGE } from './tags';
import { checkTraits, fromText, type TraitChanges, type TraitContext, traitNameSchema } from './traits';

export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const IMPORT_LIMITS = {
  /** Rejected rows listed with their line and reasons (all are counted). */
  listedRejections: 1000,
  /** Traits one import maps. */
  traits: 100,
  /** Tags one row adds or removes (as many as one tags request sets). */
  tagsPerRow: MAX_TAGS_PER_REQUEST,
  /**
   * Largest upload: 5 GB, the most one presigned PUT can carry (S3's single-PUT limit, which the
   * local object server keeps too). The runner streams the file, so memory is not the bound.
   */
  fileBytes: 5 * 1024 ** 3,
} as const;

const column = z.string().check(z.minLength(1), z.maxLength(256));

export const importBodySchema = z.strictObject({
  format: z.enum(IMPORT_FORMATS),
  mapping: z
    .strictObject({
      /** The column (CSV header) or field (NDJSON) holding the Pulse user id. */
      userId: column,
      /** Declared trait → the column or field holding its value. */
      traits: z.optional(
        z.record(traitNameSchema, column).check(
          z.refine((t) => Object.keys(t).length <= IMPORT_LIMITS.traits, {
            message: `Map at most ${IMPORT_LIMITS.traits} traits`,
          }),
        ),
      ),
      /** Columns (fields) holding manual tags to add and to remove: `;`-separated, or a JSON array. */
      tags: z.optional(
        z.strictObject({ add: z.optional(column), remove: z.optional(column) }).check(
          z.refine((t) => t.add !== undefined || t.remove !== undefined, {
            message: 'Name the column of tags to add, to remove, or both',
          }),
        ),
      ),
    })
    .check(
      z.refine((m) => Object.keys(m.traits ?? {}).length > 0 || m.tags !== undefined, {
        message: 'Map at least one trait or a tags column',
      }),
    ),
});
export type ImportBody = z.infer<typeof importBodySchema>;

/** Every column (field) a mapping reads. */
export const mappedColumns = (mapping: ImportBody['mapping']): string[] => [
  ...new Set([
    mapping.userId,
    ...Object.values(mapping.traits ?? {}),
    ...(mapping.tags?.add !== undefined ? [mapping.tags.add] : []),
    ...(mapping.tags?.remove !== undefined ? [mapping.tags.remove] : []),
  ]),
];

export interface Row {
  /** Line of the file the row starts on (1-based; a CSV's header is line 1). */
  line: number;
  /** Where the row after this one starts: the checkpoint once this row is applied. */
  next: ReadPosition;
  /** Column or field → value: text for CSV, JSON values for NDJSON; undefined when unreadable. */
  fields?: Record<string, unknown>;
  /** Why the row could not be read at all. */
  error?: string;
}

/** A record as a row: CSV cells named by the header, an NDJSON line parsed. */
export const toRow = (record: RawRecord, format: ImportFormat, header: readonly string[]): Row => {
  const { line, next } = record;
  if (format === 'ndjson') {
    try {
      const value: unknown = JSON.parse(record.cells[0] ?? '');
      if (!value || typeof value !== 'object' || Array.isArray(value))
        return { line, next, error: 'Expected a JSON object on the line' };
      return { line, next, fields: value as Record<string, unknown> };
    } catch {
      return { line, next, error: 'Not valid JSON' };
    }
  }
  if (record.cells.length !== header.length)
    return { line, next, error: `Expected ${header.length} columns, found ${record.cells.length}` };
  const fields: Record<string, unknown> = {};
  for (let i = 0; i < header.length; i++) fields[header[i] as string] = record.cells[i];
  return { line, next, fields };
};

/** A CSV header's column names (trimmed). */
export const headerOf = (record: RawRecord): string[] => record.cells.map((c) => c.trim());

/** The rows of a whole file held in memory (the small-file path, and the parser's reference). */
export const readRows = (text: string | Uint8Array, format: ImportFormat): Row[] => {
  const reader = new RecordReader(format, FILE_START, Number.POSITIVE_INFINITY);
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const records = [...reader.push(bytes), ...reader.end()];
  if (format === 'ndjson') return records.map((r) => toRow(r, format, []));
  const [first, ...rest] = records;
  const header = first ? headerOf(first) : [];
  return rest.map((r) => toRow(r, format, header));
};

/** The columns a CSV's header lacks for this mapping (checked before any row is applied). */
export const missingColumns = (header: readonly string[], mapping: ImportBody['mapping']): string[] => {
  const have = new Set(header);
  return mappedColumns(mapping).filter((c) => !have.has(c));
};

/** Manual tags a row adds and removes. */
export interface TagChanges {
  add: string[];
  remove: string[];
}

/** A tags cell (`;`-separated text, or in NDJSON a JSON array of strings) as tags, or the reasons. */
const tagsIn = (value: unknown, col: string): { tags: string[] } | { reasons: string[] } => {
  if (value === undefined || value === null || value === '') return { tags: [] };
  const list =
    typeof value === 'string'
      ? value.split(';').map((t) => t.trim())
      : Array.isArray(value)
        ? value
        : undefined;
  if (!list) return { reasons: [`${col}: Expected tags as text separated by ; or a JSON array`] };
  const tags: string[] = [];
  const reasons: string[] = [];
  list.forEach((t, i) => {
    if (t === '') return;
    if (typeof t !== 'string' || !isTag(t)) reasons.push(`${col}: tag ${i + 1}: ${TAG_MESSAGE}`);
    else tags.push(t);
  });
  const distinct = [...new Set(tags)];
  if (distinct.length > IMPORT_LIMITS.tagsPerRow)
    reasons.push(`${col}: At most ${IMPORT_LIMITS.tagsPerRow} tags a row, found ${distinct.length}`);
  return reasons.length > 0 ? { reasons } : { tags: distinct };
};

/** The row's tag changes (empty lists when the mapping has no tags column), or the reasons. */
export const rowTags = (
  fields: Record<string, unknown>,
  mapping: ImportBody['mapping'],
): { ok: true; tags: TagChanges } | { ok: false; reasons: string[] } => {
  const cell = (col: string | undefined) =>
    col === undefined ? { tags: [] } : tagsIn(Object.hasOwn(fields, col) ? fields[col] : undefined, col);
  const add = cell(mapping.tags?.add);
  const remove = cell(mapping.tags?.remove);
  const reasons = [...('reasons' in add ? add.reasons : []), ...('reasons' in remove ? remove.reasons : [])];
  if ('reasons' in add || 'reasons' in remove) return { ok: false, reasons };
  const both = add.tags.filter((t) => remove.tags.includes(t)).length;
  if (both > 0)
    return { ok: false, reasons: [`${mapping.tags?.remove}: ${both} tag(s) both added and removed`] };
  return { ok: true, tags: { add: add.tags, remove: remove.tags } };
};

export type RowOutcome =
  | { ok: true; userId: string; traits: TraitChanges; tags: TagChanges }
  | { ok: false; reasons: string[] };

/**
 * A row as a trait update and tag changes. CSV cells are text (parsed by the declared type; an
 * empty cell leaves the trait as it is); NDJSON values are JSON (null unsets). A row with nothing to
 * apply is rejected. The reasons name paths and columns, never values.
 */
export const rowUpdate = (row: Row, body: ImportBody, ctx: TraitContext): RowOutcome => {
  if (!row.fields) return { ok: false, reasons: [row.error ?? 'Unreadable row'] };
  const { fields } = row;
  const rawId = fields[body.mapping.userId];
  const userId = personIdSchema.safeParse(typeof rawId === 'string' ? rawId.trim() : rawId);
  const reasons: string[] = [];
  if (!userId.success) reasons.push(`${body.mapping.userId}: missing or not a valid user id`);
  const raw: Record<string, unknown> = {};
  for (const [trait, col] of Object.entries(body.mapping.traits ?? {})) {
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
  const tags = rowTags(fields, body.mapping);
  if (!tags.ok) reasons.push(...tags.reasons);
  if (reasons.length > 0 || !userId.success || !checked.ok || !tags.ok) return { ok: false, reasons };
  if (Object.keys(checked.traits).length === 0 && tags.tags.add.length + tags.tags.remove.length === 0)
    return {
      ok: false,
      reasons: [body.mapping.tags ? 'No mapped trait or tag has a value' : 'No mapped trait has a value'],
    };
  return { ok: true, userId: userId.data, traits: checked.traits, tags: tags.tags };
};
