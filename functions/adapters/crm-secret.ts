/**
 * CRM connectors' tokens (a HubSpot private-app token per connector): a JSON object by connector
 * id in the `crm` secret (Secrets Manager) in AWS, cached a few minutes per container; locally a
 * JSON file in the data folder standing in for it. Put there by an operator (docs/traits.md),
 * never through the API and never logged.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '../../lib/config';
import { checkRequest } from './aws';
import { Cached } from './cached';

const load = async (env: NodeJS.ProcessEnv): Promise<Record<string, string>> => {
  const file = env[ENV.localCrmSecretFile];
  let text: string | undefined;
  if (file) {
    checkRequest({ action: 'secretsmanager:GetSecretValue', input: { SecretId: ENV.localCrmSecretFile } });
    text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '{}';
      throw e;
    });
  } else {
    const arn = env[ENV.crmSecretArn];
    if (!arn) throw new Error(`Neither ${ENV.crmSecretArn} nor ${ENV.localCrmSecretFile} is set`);
    text = (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn })))
      .SecretString;
  }
  const parsed: unknown = JSON.parse(text ?? '{}');
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('The CRM secret must be a JSON object: connector id → token');
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
};

/** Re-read every few minutes (and at once locally), so a new token reaches running containers. */
const tokens = new Cached(() => load(process.env), process.env[ENV.localCrmSecretFile] ? 0 : 5 * 60_000);

export const crmToken = async (connectorId: string): Promise<string | undefined> =>
  (await tokens.get())[connectorId];
