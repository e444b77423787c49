/**
 * Destination credentials: one Secrets Manager secret per destination, named
 * `pulse/<stage>/destinations/<destinationId>` (lib/access.ts destinationSecretPrefix), holding a
 * JSON object of the type's credential fields. Never in a table, never in a log. Locally a folder
 * stands in (ENV.localSecretsDir: one file per destination, mode 0600), held to lib/access.ts
 * like the real calls.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { destinationSecretPrefix } from '../../lib/access';
import { DEFAULTS, ENV } from '../../lib/config';
import { checkRequest } from './aws';

export type Credentials = Record<string, string>;

export interface DestinationSecrets {
  read(destinationId: string): Promise<Credentials>;
  write(destinationId: string, credentials: Credentials): Promise<void>;
  remove(destinationId: string): Promise<void>;
}

const isNotFound = (e: unknown) => (e as { name?: string }).name === 'ResourceNotFoundException';

class SecretsManagerStore implements DestinationSecrets {
  private readonly client = new SecretsManagerClient({});
  constructor(private readonly prefix: string) {}

  async read(id: string): Promise<Credentials> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.prefix + id }));
      return JSON.parse(out.SecretString ?? '{}') as Credentials;
    } catch (e) {
      if (isNotFound(e)) return {};
      throw e;
    }
  }

  async write(id: string, credentials: Credentials): Promise<void> {
    const SecretString = JSON.stringify(credentials);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.prefix + id, SecretString }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.send(
        new CreateSecretCommand({
          Name: this.prefix + id,
          SecretString,
          Description: `Pulse destination ${id}: credentials`,
        }),
      );
    }
  }

  async remove(id: string): Promise<void> {
    try {
      // A deleted destination's credentials go at once: nothing will ask for them again.
      await this.client.send(
        new DeleteSecretCommand({ SecretId: this.prefix + id, ForceDeleteWithoutRecovery: true }),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The local stand-in: same names, same access checks, files instead of secrets. */
export class FolderSecretsStore implements DestinationSecrets {
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
  ) {}
  private file(id: string) {
    return join(this.dir, `${id}.json`);
  }
  private check(action: string, id: string) {
    checkRequest({ action: `secretsmanager:${action}`, input: { SecretId: this.prefix + id } });
  }

  async read(id: string): Promise<Credentials> {
    this.check('GetSecretValue', id);
    try {
      return JSON.parse(readFileSync(this.file(id), 'utf8')) as Credentials;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
  }

  async write(id: string, credentials: Credentials): Promise<void> {
    this.check('PutSecretValue', id);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.file(id), JSON.stringify(credentials), { mode: 0o600 });
  }

  async remove(id: string): Promise<void> {
    this.check('DeleteSecret', id);
    rmSync(this.file(id), { force: true });
  }
}

export const destinationSecrets = (env: NodeJS.ProcessEnv = process.env): DestinationSecrets => {
  const prefix = destinationSecretPrefix(env[ENV.stage] ?? DEFAULTS.stage);
  const local = env[ENV.localSecretsDir];
  return local ? new FolderSecretsStore(local, prefix) : new SecretsManagerStore(prefix);
};
