/**
 * The whole local stack with fixture functions: HTTP → ingest → Kinesis → consumer → DynamoDB,
 * the environment handlers see at import, `--data DIR` restarts, a second stack on the first
 * one's emulators (AWS_ENDPOINT_URL_*), and close() leaving nothing open.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, ENV } from '../../lib/config';
import { functionEnvironment } from '../../lib/environment';
import { LOCAL_SERVICE_NAME, type LocalStack, localSettings, startLocalStack } from '../../lib/local/stack';
import { eventStream } from '../../lib/stream';
import { tableList, tables } from '../../lib/tables';
import { request } from '../fixtures/http';
import { deliveredIds, resetFixtureState } from '../fixtures/state';
import { allHandlerModules } from '../support/synth';

const FUNCTIONS = join(import.meta.dirname, '../fixtures/functions');
const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };

const sockets = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;

/** Waits on a condition with a deadline (never a fixed sleep). */
const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const ingest = async (stack: LocalStack, id: string) => {
  const res = await request(`${stack.url}/api/engagement/click`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id }),
  });
  expect(res.status, res.text).toBe(202);
  return res.json<{ sequenceNumber: string }>();
};

const itemFor = async (stack: LocalStack, id: string, sequenceNumber: string) => {
  const client = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: stack.names.tables.metrics,
        Key: { pk: { S: `event#${id}` }, sk: { S: sequenceNumber } },
      }),
    );
    return Item;
  } finally {
    client.destroy();
  }
};

let dataDir: string;
let baselineSockets: number;
const envBefore = { ...process.env };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pulse-stack-test-'));
  baselineSockets = sockets();
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
beforeEach(() => resetFixtureState());

describe('local stack', () => {
  it('serves the route table, and handlers see the environment from their first import', async () => {
    const stack = await startLocalStack({ dataDir, functionsDir: FUNCTIONS, logger });
    try {
      const health = await request(`${stack.url}/api/health`);
      expect(health.status).toBe(200);
      const { envAtImport } = health.json<{ envAtImport: Record<string, string> }>();
      expect(envAtImport).toMatchObject({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
        AWS_ENDPOINT_URL_KINESIS: stack.endpoints.kinesis,
        [eventStream.envVar]: 'pulse-local-events',
        [ENV.stage]: 'local',
        [ENV.consentMode]: DEFAULTS.consentMode,
        [ENV.localFailureDir]: stack.failureDir,
        [ENV.metricsNamespace]: 'Pulse',
      });
      // Built by lib/environment.ts like every deployed function's (infra/functions.test.ts), with
      // local names and lib/config.ts defaults; one process runs every module, so the service name
      // is the stack's and a key and a folder stand in for the secret and the bucket.
      const localNames = {
        tables: stack.names.tables,
        stream: stack.names.stream,
        userPoolId: DEFAULTS.localUserPoolId,
        userPoolClientId: DEFAULTS.localUserPoolClientId,
      };
      for (const handlerModule of allHandlerModules()) {
        const { [ENV.serviceName]: serviceName, ...built } = functionEnvironment(
          handlerModule,
          localSettings(() => undefined),
          localNames,
        );
        expect(serviceName).toBe(handlerModule);
        expect(envAtImport).toMatchObject(built);
      }
      expect(envAtImport).toMatchObject({
        [ENV.consentTtlDays]: String(DEFAULTS.consentTtlDays),
        [ENV.piiMode]: DEFAULTS.piiMode,
        [ENV.retentionDays]: String(DEFAULTS.retentionDays),
        [ENV.serviceName]: LOCAL_SERVICE_NAME,
      });
      expect(envAtImport.AWS_ACCESS_KEY_ID).toBeTruthy();
      for (const t of tableList) expect(envAtImport[t.envVar]).toBe(`pulse-local-${t.name}`);
      expect(stack.failureDir).toBe(join(dataDir, 'failures'));

      const unknown = await request(`${stack.url}/nowhere`);
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 'not_found' });

      // No sources fixture exists: API Gateway's own 500, and the stack keeps serving.
      const missing = await request(`${stack.url}/api/sources`);
      expect(missing.status).toBe(500);
      expect(missing.json()).toEqual({ message: 'Internal Server Error' });
      expect((await request(`${stack.url}/api/health`)).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  it('carries an event from HTTP through the stream to DynamoDB, and keeps it all across a restart on --data', async () => {
    const first = await startLocalStack({ dataDir, functionsDir: FUNCTIONS, logger });
    const { sequenceNumber } = await ingest(first, 'e1');
    await first.esm.idle();
    expect(deliveredIds()).toEqual([['e1']]);
    expect(await itemFor(first, 'e1', sequenceNumber)).toBeTruthy();
    await first.close();

    resetFixtureState();
    const second = await startLocalStack({ dataDir, functionsDir: FUNCTIONS, logger });
    try {
      expect(await itemFor(second, 'e1', sequenceNumber)).toBeTruthy();
      // The consumer's checkpoint survived too: nothing is delivered twice.
      await second.esm.idle();
      expect(deliveredIds()).toEqual([]);
      const next = await ingest(second, 'e2');
      await second.esm.idle();
      expect(deliveredIds()).toEqual([['e2']]);
      expect(await itemFor(second, 'e2', next.sequenceNumber)).toBeTruthy();
    } finally {
      await second.close();
    }
  });

  it('runs a second stack against the first one’s emulators through AWS_ENDPOINT_URL_*', async () => {
    const owner = await startLocalStack({ functionsDir: FUNCTIONS, logger });
    try {
      const guest = await startLocalStack({
        functionsDir: FUNCTIONS,
        logger,
        consumers: [],
        env: {
          AWS_ENDPOINT_URL_DYNAMODB: owner.endpoints.dynamodb,
          AWS_ENDPOINT_URL_KINESIS: owner.endpoints.kinesis,
        },
      });
      try {
        expect(guest.external).toEqual({ dynamodb: true, kinesis: true });
        expect(guest.endpoints).toEqual(owner.endpoints);
        expect(guest.names).toEqual(owner.names);
        const { sequenceNumber } = await ingest(guest, 'via-guest');
        await owner.esm.idle();
        expect(deliveredIds()).toEqual([['via-guest']]);
        expect(await itemFor(owner, 'via-guest', sequenceNumber)).toBeTruthy();
      } finally {
        await guest.close();
      }
      // The guest's close leaves the owner's emulators, and its environment, in place.
      expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(owner.endpoints.dynamodb);
      const client = new DynamoDBClient({
        endpoint: owner.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const { TableNames = [] } = await client.send(new ListTablesCommand({}));
      client.destroy();
      expect(TableNames).toContain(`pulse-local-${tables.metrics.name}`);
      expect((await request(`${owner.url}/api/health`)).status).toBe(200);
    } finally {
      await owner.close();
    }
  });

  it('leaves no sockets or servers open and restores process.env after close', async () => {
    const stack = await startLocalStack({ functionsDir: FUNCTIONS, logger });
    await ingest(stack, 'last');
    await stack.esm.idle();
    const { url } = stack;
    await stack.close();
    await stack.close(); // idempotent
    await until('handles to close', () => sockets() <= baselineSockets);
    await expect(request(`${url}/api/health`)).rejects.toThrow();
    for (const key of [
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_KINESIS',
      tables.users.envVar,
      ENV.stage,
    ]) {
      expect(process.env[key], key).toBe(envBefore[key]);
    }
  });
});
