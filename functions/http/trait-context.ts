/**
 * What a door checks traits with (functions/core/traits.ts): the declarations, cached per
 * container, and the signing key when a declared trait is hashed. Loaded only for requests that
 * set traits, so plain identifies and Segment batches cost no read.
 */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { MetricUnit, metrics } from '../adapters/observability';
import { signingKey } from '../adapters/signing-key';
import { TraitDeclarationsRepository } from '../adapters/trait-declarations-repository';
import { needsKey, type TraitContext } from '../core/traits';

export const traitDoor = () => {
  let repository: TraitDeclarationsRepository | undefined;
  return {
    async context(): Promise<TraitContext> {
      repository ??= new TraitDeclarationsRepository(documentClient(), requireEnv(tables.traits.envVar));
      const declarations = await repository.byName();
      return { declarations, ...(needsKey(declarations) && { key: await signingKey() }) };
    },
  };
};

/** Undeclared traits are dropped, and counted: an operator sees SDKs sending what nobody declared. */
export const countIgnoredTraits = (n: number): void => {
  if (n > 0) metrics.addMetric('TraitsIgnored', MetricUnit.Count, n);
};
