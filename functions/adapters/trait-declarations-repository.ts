/**
 * Trait declarations in the traits table. Key design of the table (lib/tables.ts `traits`):
 *
 *   pk               | sk       | item
 *   ---------------- | -------- | -------------------------------------------------------------
 *   `traits`         | `<name>` | a declaration: type, pii, purpose, description (this module)
 *   `connector#<id>` | `config` | a CRM connector's settings (connectors-repository.ts)
 *   `connector#<id>` | `state`  | its cursor, run lease and last run (connectors-repository.ts)
 *   `import#<id>`    | `job`    | a bulk import: mapping, progress, report (imports-repository.ts)
 *
 * No item holds a trait's value or a person's id: values live on the person (users table), so the
 * table is not personal data. Declarations are few (TRAIT_LIMITS.declarations), all in one
 * partition, loaded whole by the doors and cached for a short while per container.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TRAIT_LIMITS, type TraitDeclaration, type TraitDeclarationBody } from '../core/traits';
import { Cached } from './cached';
import { type Item, queryPartition } from './dynamo';

export const DECLARATIONS_PK = 'traits';

const toDeclaration = (item: Item): TraitDeclaration & { updatedAt: string } => ({
  name: item.sk as string,
  type: item.type as TraitDeclaration['type'],
  pii: item.pii as TraitDeclaration['pii'],
  purpose: item.purpose as TraitDeclaration['purpose'],
  ...(typeof item.description === 'string' && { description: item.description }),
  updatedAt: item.updatedAt as string,
});

export type StoredDeclaration = ReturnType<typeof toDeclaration>;

/** Declarations change rarely: a door sees a new one within this long. */
export const DECLARATIONS_CACHE_MS = 30_000;

export class TraitDeclarationsRepository {
  private readonly cache = new Cached(
    async () => new Map((await this.list()).map((d) => [d.name, d] as const)),
    DECLARATIONS_CACHE_MS,
  );

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<StoredDeclaration[]> {
    return (await queryPartition(this.db, this.tableName, DECLARATIONS_PK)).map(toDeclaration);
  }

  /** Every declaration by name, cached per container (DECLARATIONS_CACHE_MS). */
  byName(): Promise<ReadonlyMap<string, TraitDeclaration>> {
    return this.cache.get();
  }

  /**
   * Declare or redeclare a trait. A type change applies to values set from now on; values
   * already on profiles keep their type until set again (docs/traits.md).
   */
  async put(
    name: string,
    body: TraitDeclarationBody,
    now: Date,
  ): Promise<{ declaration: StoredDeclaration; created: boolean }> {
    const existing = await this.list();
    const previous = existing.find((d) => d.name === name);
    if (!previous && existing.length >= TRAIT_LIMITS.declarations)
      throw new TooManyDeclarationsError(TRAIT_LIMITS.declarations);
    const item = {
      pk: DECLARATIONS_PK,
      sk: name,
      type: body.type,
      pii: body.pii,
      purpose: body.purpose,
      ...(body.description !== undefined && { description: body.description }),
      updatedAt: now.toISOString(),
    };
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
    return { declaration: toDeclaration(item), created: !previous };
  }
}

export class TooManyDeclarationsError extends Error {
  constructor(readonly limit: number) {
    super(`At most ${limit} traits can be declared`);
    this.name = 'TooManyDeclarationsError';
  }
}
