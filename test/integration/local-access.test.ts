/**
 * The local stack enforces lib/access.ts as IAM does in AWS: a probe handler, run as different
 * handler modules, makes calls inside and outside each module's entry, through the gateway and the
 * scheduler (the event source mapping invokes through the same invokeHandler; the e2e suite runs
 * the real consumer under the check).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, kinesisClient } from '../../functions/adapters/aws';
import { failureStoreFromEnv } from '../../functions/adapters/failure-store';
import { signingKey } from '../../functions/adapters/signing-key';
import type { LambdaHandler } from '../../lib/local/lambda';
import { type LocalStack, startLocalStack } from '../../lib/local/stack';
import { eventStream } from '../../lib/stream';
import { tables } from '../../lib/tables';

const table = (name: keyof typeof tables) => process.env[tables[name].envVar] as string;

/** Each probe is one call; the answer says whether IAM (here: the local check) let it through. */
const probes: Record<string, () => Promise<unknown>> = {
  'get metrics': () =>
    documentClient().send(new GetCommand({ TableName: table('metrics'), Key: { pk: 'x', sk: 'y' } })),
  'put metrics': () =>
    documentClient().send(new PutCommand({ TableName: table('metrics'), Item: { pk: 'x', sk: 'y' } })),
  'scan users': () => documentClient().send(new ScanCommand({ TableName: table('users') })),
  'query tags byNextCheck': () =>
    documentClient().send(
      new QueryCommand({
        TableName: table('tags'),
        IndexName: 'byNextCheck',
        KeyConditionExpression: 'checkShard = :s',
        ExpressionAttributeValues: { ':s': '0' },
      }),
    ),
  'put records': () =>
    kinesisClient().send(
      new PutRecordsCommand({
        StreamName: process.env[eventStream.envVar],
        Records: [{ PartitionKey: 'p', Data: Buffer.from('{}') }],
      }),
    ),
  'signing key': () => signingKey(),
  'read a failed batch': async () => {
    const store = failureStoreFromEnv();
    if (!store) throw new Error('the local stack names no failure folder');
    await store.getText('no-such-object');
  },
};

type Verdicts = Record<string, 'allowed' | 'denied'>;

const runProbes = async (): Promise<{ verdicts: Verdicts; messages: string[] }> => {
  const verdicts: Verdicts = {};
  const messages: string[] = [];
  for (const [name, probe] of Object.entries(probes)) {
    try {
      await probe();
      verdicts[name] = 'allowed';
    } catch (error) {
      if ((error as Error).name !== 'AccessDeniedException') throw error;
      verdicts[name] = 'denied';
      messages.push((error as Error).message);
    }
  }
  return { verdicts, messages };
};

const probeHandler: LambdaHandler = async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(await runProbes()),
});

let stack: LocalStack;
let keyDir: string;

beforeAll(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'pulse-access-keys-'));
  stack = await startLocalStack({
    keyDir,
    consumers: [],
    schedules: false,
    // Every handler module is the probe: what it may do depends only on the module it runs as.
    resolveHandler: async () => probeHandler,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
});
afterAll(async () => {
  await stack?.close();
  await rm(keyDir, { recursive: true, force: true });
});

const probeAs = async (path: string) => {
  const res = await fetch(`${stack.url}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { verdicts: Verdicts; messages: string[] };
};

describe('local IAM (lib/access.ts)', () => {
  it("holds metrics/metrics to 'metrics: read': everything else is denied as IAM denies it", async () => {
    const { verdicts, messages } = await probeAs('/api/metrics/campaigns');
    expect(verdicts).toEqual({
      'get metrics': 'allowed',
      'put metrics': 'denied',
      'scan users': 'denied',
      'query tags byNextCheck': 'denied',
      'put records': 'denied',
      'signing key': 'denied',
      'read a failed batch': 'denied',
    });
    expect(messages).toContain(
      `User: arn:aws:sts::000000000000:assumed-role/pulse-local-metrics-metrics/pulse-local-metrics-metrics ` +
        `is not authorized to perform: dynamodb:Scan on resource: ` +
        `arn:aws:dynamodb:us-east-1:000000000000:table/${stack.names.tables.users} because no ` +
        `identity-based policy allows the dynamodb:Scan action (lib/access.ts: 'metrics/metrics' does not declare it)`,
    );
  });

  it('lets a module do what its entry declares: an index, the stream, the secret, the failed batches', async () => {
    // segments/segments: tags readWrite (indexes included).
    expect((await probeAs('/api/segments/rules')).verdicts).toMatchObject({
      'query tags byNextCheck': 'allowed',
      'scan users': 'denied',
      'put records': 'denied',
    });
    // ingest/engagement: the stream (write) and the signing key.
    const ingest = await fetch(`${stack.url}/api/engagement/click`, { method: 'POST', body: '{}' });
    expect(((await ingest.json()) as { verdicts: Verdicts }).verdicts).toMatchObject({
      'put records': 'allowed',
      'signing key': 'allowed',
      'get metrics': 'denied',
    });
    // privacy/privacy: every personal table and the failed batches.
    const privacy = await fetch(`${stack.url}/api/users/someone/export`);
    expect(((await privacy.json()) as { verdicts: Verdicts }).verdicts).toMatchObject({
      'scan users': 'allowed',
      'read a failed batch': 'allowed',
      'get metrics': 'denied',
    });
  });

  it('holds scheduled functions to their entry too', async () => {
    const result = (await stack.runSchedule('segments-sweep')) as { body: string };
    const { verdicts } = JSON.parse(result.body) as { verdicts: Verdicts };
    expect(verdicts).toMatchObject({ 'scan users': 'allowed', 'query tags byNextCheck': 'allowed' });
    expect(verdicts['put records']).toBe('denied');
  });

  it('does not check calls made outside a function (the stack itself, tests)', async () => {
    expect(Object.values((await runProbes()).verdicts)).not.toContain('denied');
  });
});
