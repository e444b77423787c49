/** `GET /api/health`: 200 when the stream and every table answer, 503 naming what does not. */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { eventStream } from '../../lib/stream';
import { tableList } from '../../lib/tables';
import { dynamoClient, kinesisClient, requireEnv } from '../adapters/aws';
import { httpHandler } from '../http/handler';
import { contract } from './health.contract';

const streamName = requireEnv(eventStream.envVar);
const tableNames = tableList.map((t) => ({ name: t.name, physical: requireEnv(t.envVar) }));

const check = async (probe: () => Promise<boolean>): Promise<'ok' | 'unavailable'> => {
  try {
    return (await probe()) ? 'ok' : 'unavailable';
  } catch {
    return 'unavailable';
  }
};

export const handler = httpHandler({
  module: 'service/health',
  contract,
  authenticators: {},
  handlers: {
    health: async () => {
      const [stream, ...tableStates] = await Promise.all([
        check(async () => {
          const { StreamDescriptionSummary: s } = await kinesisClient().send(
            new DescribeStreamSummaryCommand({ StreamName: streamName }),
          );
          return s?.StreamStatus === 'ACTIVE' || s?.StreamStatus === 'UPDATING';
        }),
        ...tableNames.map((t) =>
          check(async () => {
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
      return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'degraded', components } };
    },
  },
});
