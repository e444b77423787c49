/**
 * The HMAC key behind consent tokens, link tokens and keyed id hashes: from Secrets Manager in
 * AWS (cached for a few minutes per container), or the local stack's key.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '../../lib/config';
import { checkRequest } from './aws';
import { Cached } from './cached';

const load = async (env: NodeJS.ProcessEnv): Promise<Uint8Array> => {
  const local = env[ENV.localSigningKey];
  if (local) return Buffer.from(local, 'base64url');
  const arn = env[ENV.signingSecretArn];
  if (!arn) throw new Error(`Neither ${ENV.signingSecretArn} nor ${ENV.localSigningKey} is set`);
  const { SecretString } = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  if (!SecretString || SecretString.length < 32)
    throw new Error('The signing secret is missing or too short');
  return Buffer.from(SecretString, 'utf8');
};

/** Re-read every few minutes, so a replaced secret reaches running containers. */
const key = new Cached(() => load(process.env), 5 * 60_000);

export const signingKey = async (): Promise<Uint8Array> => {
  // Locally the key is in the environment, yet reading it is reading the secret: the local stack's
  // IAM check (registerRequestCheck) holds it to lib/access.ts like GetSecretValue in AWS.
  if (process.env[ENV.localSigningKey]) {
    checkRequest({ action: 'secretsmanager:GetSecretValue', input: { SecretId: ENV.localSigningKey } });
  }
  return key.get();
};
