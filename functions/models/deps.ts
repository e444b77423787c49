/** The repositories a model run and the models API use, built once per container from the environment. */
import { tables } from '../../lib/tables';
import { documentClient, requireEnv } from '../adapters/aws';
import { ConsentRepository } from '../adapters/consent-repository';
import { membershipTriggersFromEnv } from '../adapters/membership-triggers';
import { ModelTags } from '../adapters/model-tags';
import { ModelsRepository } from '../adapters/models-repository';
import { PeopleRepository } from '../adapters/people-repository';
import { settings } from '../adapters/settings';
import { TagsRepository } from '../adapters/tags-repository';
import type { PipelineDeps } from './pipeline';

export const pipelineDeps = (): PipelineDeps => {
  const db = documentClient();
  const tagsTable = requireEnv(tables.tags.envVar);
  return {
    models: new ModelsRepository(db, requireEnv(tables.models.envVar)),
    people: new PeopleRepository(db, requireEnv(tables.users.envVar)),
    modelTags: new ModelTags(new TagsRepository(db, tagsTable, membershipTriggersFromEnv(db))),
    consent: new ConsentRepository(db, requireEnv(tables.consent.envVar)),
    consentRequired: settings.consentRequired,
    now: () => new Date(),
  };
};
