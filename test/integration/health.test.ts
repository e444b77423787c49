/**
 * `/api/health` is public: it must make no AWS call (an uptime checker or a scanner would otherwise
 * spend the account's DescribeStreamSummary quota and turn its throttling into 5xx). The deep check
 * is for admins, and a container asks AWS at most once per CHECK_TTL_MS.
 *
 * The real handler module runs behind the local API Gateway emulator, with every AWS endpoint
 * pointed at a server that counts what reaches it (and answers like an AWS error).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lib/config';
import { type Gateway, startGateway } from '../../lib/local/gateway';
import { ensureLocalKeys, jwksJson, type LocalKeys, mintToken } from '../../lib/local/keys';
import { eventStream } from '../../lib/stream';
import { tableList } from '../../lib/tables';

let awsCalls: string[] = [];
let fakeAws: Server;
let gateway: Gateway;
let keys: LocalKeys;
const keyDir = mkdtempSync(join(tmpdir(), 'pulse-health-'));
const saved = { ...process.env };

beforeAll(async () => {
  fakeAws = createServer((req, res) => {
    awsCalls.push(String(req.headers['x-amz-target']));
    req.resume();
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'not here' }));
  });
  await new Promise<void>((r) => fakeAws.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(fakeAws.address() as AddressInfo).port}`;
  keys = await ensureLocalKeys(keyDir);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ENDPOINT_URL_KINESIS: endpoint,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    [eventStream.envVar]: 'events',
    [ENV.localJwks]: jwksJson(keys),
    ...Object.fromEntries(tableList.map((t) => [t.envVar, `health-${t.name}`])),
  });
  gateway = await startGateway({ port: 0, logger: { error: () => {}, warn: () => {} } });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((r) => fakeAws?.close(r));
  process.env = saved;
  rmSync(keyDir, { recursive: true, force: true });
});

describe('GET /api/health', () => {
  it('answers 200 without calling AWS, however often it is asked', async () => {
    awsCalls = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gateway.url}/api/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    expect(awsCalls).toEqual([]);
  });
});

describe('GET /api/health/deep', () => {
  it('is for admins only', async () => {
    awsCalls = [];
    expect((await fetch(`${gateway.url}/api/health/deep`)).status).toBe(401);
    const analyst = await mintToken(keys, { role: 'analyst' });
    const res = await fetch(`${gateway.url}/api/health/deep`, {
      headers: { authorization: `Bearer ${analyst}` },
    });
    expect(res.status).toBe(403);
    expect(awsCalls).toEqual([]);
  });

  it('describes the stream and every table, then answers from its cache', async () => {
    awsCalls = [];
    const admin = await mintToken(keys, { role: 'admin' });
    const ask = () =>
      fetch(`${gateway.url}/api/health/deep`, { headers: { authorization: `Bearer ${admin}` } });
    const first = await ask();
    // The fake AWS knows no stream or table: every component is unavailable, and named.
    expect(first.status).toBe(503);
    const body = (await first.json()) as { status: string; components: Record<string, string> };
    expect(body.status).toBe('degraded');
    expect(Object.keys(body.components).sort()).toEqual(
      ['stream', ...tableList.map((t) => `table:${t.name}`)].sort(),
    );
    expect(awsCalls.sort()).toEqual(
      [
        'Kinesis_20131202.DescribeStreamSummary',
        ...tableList.map(() => 'DynamoDB_20120810.DescribeTable'),
      ].sort(),
    );
    const calls = awsCalls.length;
    for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(503);
    expect(awsCalls).toHaveLength(calls);
  });
});
