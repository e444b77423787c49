/**
 * The HMAC key behind consent tokens, link tokens and keyed id hashes: from Secrets Manager in
 * AWS (cached for a few minutes per container), or the local stack's key.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '../../lib/config';

const CACHE_MS = 5 * 60_000;
let cached: { key: Promise<Uint8Array>; until: number } | undefined;

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

export const signingKey = (env: NodeJS.ProcessEnv = process.env): Promise<Uint8Array> => {
  if (!cached || cached.until < Date.now()) {
    const key = load(env);
    cached = { key, until: Date.now() + CACHE_MS };
    // A failed load is not cached: the next request tries again.
    key.catch(() => {
      cached = undefined;
    });
  }
  return cached.key;
};
