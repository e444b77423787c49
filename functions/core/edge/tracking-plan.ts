/**
 * Tracking plans: per custom event name, a JSON Schema for its properties and what to do with an
 * event that breaks it — `warn` (accept it, count the violation), `omit` (drop the offending
 * properties, count it) or `block` (reject it, naming the schema path). Schemas are compiled once
 * per container (ajv) and the compiled validator is kept until the plan changes. Violations are
 * described without the values that broke them (no personal data): the keyword, the schema path
 * and where in the properties, array positions as `*`. Pure.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from '../problem';

export const PLAN_MODES = ['warn', 'omit', 'block'] as const;
export type PlanMode = (typeof PLAN_MODES)[number];

/** A stored plan entry: one custom event name. */
export interface PlanEntry {
  name: string;
  mode: PlanMode;
  /** JSON Schema (draft 2020-12 subset ajv compiles) of the event's `properties`. */
  schema: Record<string, unknown>;
  updatedAt: string;
}

/** One way an event broke its plan, without the offending value. */
export interface PlanViolation {
  event: string;
  mode: PlanMode;
  keyword: string;
  /** `#/properties/price/type`. */
  schemaPath: string;
  /** Where in the properties (`/items/*\/price`); empty for the properties object itself. */
  path: string;
  message: string;
}

/** Largest schema a plan takes (serialised): compiled code grows with it. */
export const MAX_SCHEMA_BYTES = 64 * 1024;

const newAjv = () => new Ajv({ allErrors: true, strict: false, validateSchema: true, addUsedSchema: false });

/** Compile a schema or say why it cannot be (for `PUT`: a 400 naming `schema`). */
export const schemaErrors = (schema: unknown): string | undefined => {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    return 'Expected a JSON Schema object';
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES) return `Schema exceeds ${MAX_SCHEMA_BYTES} bytes`;
  try {
    newAjv().compile(schema);
    return undefined;
  } catch (error) {
    return `Not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
  }
};

const normalisedPath = (instancePath: string) => instancePath.replace(/\/\d+(?=\/|$)/g, '/*');

/** `/items/0/price` → `properties.items.0.price`: the field path a 400 names. */
const fieldPath = (instancePath: string) =>
  instancePath === ''
    ? 'properties'
    : `properties.${instancePath
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .join('.')}`;

/** The top-level property an error sits under (what `omit` drops), if any. */
const offendingKey = (e: ErrorObject): string | undefined => {
  if (e.instancePath === '') {
    const extra = (e.params as { additionalProperty?: unknown }).additionalProperty;
    return e.keyword === 'additionalProperties' && typeof extra === 'string' ? extra : undefined;
  }
  return e.instancePath.slice(1).split('/')[0]?.replace(/~1/g, '/').replace(/~0/g, '~');
};

export type PlanOutcome =
  | { kind: 'none' }
  | { kind: 'ok' }
  | { kind: 'warn' | 'omit'; properties: Record<string, unknown>; violations: PlanViolation[] }
  | { kind: 'block'; errors: FieldError[]; violations: PlanViolation[] };

/**
 * The plans of a deployment, compiled lazily: each entry's validator is built the first time an
 * event of its name arrives, and rebuilt only when the entry's `updatedAt` changes.
 */
export class TrackingPlans {
  private readonly ajv = newAjv();
  private readonly compiled = new Map<string, { updatedAt: string; validate: ValidateFunction }>();
  private entries = new Map<string, PlanEntry>();

  /** Replace the entries (a fresh read of the plans); validators of unchanged entries are kept. */
  use(entries: readonly PlanEntry[]): this {
    this.entries = new Map(entries.map((e) => [e.name, e]));
    for (const name of this.compiled.keys()) if (!this.entries.has(name)) this.compiled.delete(name);
    return this;
  }

  get size(): number {
    return this.entries.size;
  }

  private validator(entry: PlanEntry): ValidateFunction | undefined {
    const hit = this.compiled.get(entry.name);
    if (hit?.updatedAt === entry.updatedAt) return hit.validate;
    let validate: ValidateFunction;
    try {
      // Without its `$id`: a changed entry compiles again under the same name.
      const { $id: _id, ...schema } = entry.schema;
      validate = this.ajv.compile(schema);
    } catch {
      return undefined; // refused at PUT already; a stored schema that no longer compiles checks nothing
    }
    this.compiled.set(entry.name, { updatedAt: entry.updatedAt, validate });
    return validate;
  }

  /** Check a custom event's properties against its plan entry. */
  check(name: string, properties: Record<string, unknown>): PlanOutcome {
    const entry = this.entries.get(name);
    if (!entry) return { kind: 'none' };
    const validate = this.validator(entry);
    if (!validate || validate(properties)) return { kind: 'ok' };
    const errors = validate.errors ?? [];
    const violations = errors.map(
      (e): PlanViolation => ({
        event: name,
        mode: entry.mode,
        keyword: e.keyword,
        schemaPath: e.schemaPath,
        path: normalisedPath(e.instancePath),
        message: e.message ?? e.keyword,
      }),
    );
    if (entry.mode === 'block')
      return {
        kind: 'block',
        violations,
        errors: errors.map((e) => ({
          path: fieldPath(e.instancePath),
          message: `${e.message ?? e.keyword} (tracking plan of "${name}": ${e.schemaPath})`,
        })),
      };
    if (entry.mode === 'warn') return { kind: 'warn', properties, violations };
    const dropped = new Set(errors.flatMap((e) => offendingKey(e) ?? []));
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(properties)) if (!dropped.has(k)) kept[k] = v;
    return { kind: 'omit', properties: kept, violations };
  }
}
