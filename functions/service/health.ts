/**
 * `GET /api/health` (public): liveness — the API and this function answer; no AWS call, so uptime
 * checkers and scanners cost nothing and cannot exhaust a quota.
 *
 * `GET /api/health/deep` (admin): readiness — 200 when the stream and every table answer, 503
 * naming what does not. DescribeStreamSummary is limited to 20 calls a second per account (every
 * stage shares it), so the answer is kept for CHECK_TTL_MS per container.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { eventStream } from '../../lib/stream';
import { tableList } from '../../lib/tables';
import { dynamoClient, kinesisClient, requireEnv } from '../adapters/aws';
import { logger } from '../adapters/observability';
import { httpHandler } from '../http/handler';
import { jwtAuthenticator } from '../http/jwt';
import type { HttpResponse } from '../http/types';
import { contract } from './health.contract';

export const CHECK_TTL_MS = 30_000;

const streamName = requireEnv(eventStream.envVar);
const tableNames = tableList.map((t) => ({ name: t.name, physical: requireEnv(t.envVar) }));

type ComponentState = 'ok' | 'unavailable';

const check = async (component: string, probe: () => Promise<boolean>): Promise<ComponentState> => {
  try {
    return (await probe()) ? 'ok' : 'unavailable';
  } catch (error) {
    logger.warn('health check failed', { component, error: (error as Error).name });
    return 'unavailable';
  }
};

const checkComponents = async (): Promise<HttpResponse> => {
  const [stream, ...tableStates] = await Promise.all([
    check('stream', async () => {
      const { StreamDescriptionSummary: s } = await kinesisClient().send(
        new DescribeStreamSummaryCommand({ StreamName: streamName }),
      );
      return s?.StreamStatus === 'ACTIVE' || s?.StreamStatus === 'UPDATING';
    }),
    ...tableNames.map((t) =>
      check(`table:${t.name}`, async () => {
        const { Table } = await dynamoClient().send(new DescribeTableCommand({ TableName: t.physical }));
        return Table?.TableStatus === 'ACTIVE' || Table?.TableStatus === 'UPDATING';
      }),
    ),
  ]);
  const components = {
    stream,
    ...Object.fromEntries(tableNames.map((t, i) => [`table:${t.name}`, tableStates[i]])),
  };
  const ok = Object.values(components).every((s) => s === 'ok');
  return {
    status: ok ? 200 : 503,
    body: { status: ok ? 'ok' : 'degraded', checkedAt: new Date().toISOString(), components },
  };
};

/** The last deep check of this container, shared by concurrent callers while it runs. */
let lastCheck: { at: number; answer: Promise<HttpResponse> } | undefined;

const deepCheck = (): Promise<HttpResponse> => {
  const now = Date.now();
  if (!lastCheck || now - lastCheck.at >= CHECK_TTL_MS) lastCheck = { at: now, answer: checkComponents() };
  return lastCheck.answer;
};

export const handler = httpHandler({
  module: 'service/health',
  contract,
  authenticators: { jwt: jwtAuthenticator() },
  handlers: {
    health: async () => ({ status: 200, body: { status: 'ok' } }),
    healthDeep: () => deepCheck(),
  },
});
