/**
 * The local access guard holds PutEvents as IAM holds it in AWS: only modules declaring
 * `eventBuses`, and only on the stack's bus and the listed ones, by name or ARN.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../../functions/adapters/aws';
import { startAccessGuard } from '../../lib/local/access-guard';
import { invokeHandler, LOCAL_ACCOUNT_ID } from '../../lib/local/lambda';
import { type TableName, tableList } from '../../lib/tables';

const region = 'us-east-1';
const arn = (name: string) => `arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:event-bus/${name}`;
const stop = startAccessGuard({
  region,
  tables: Object.fromEntries(tableList.map((t) => [t.name, t.name])) as Record<TableName, string>,
  stream: 'events',
  streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/events',
  bucketDirs: {},
  stage: 'local',
  eventBusArns: [arn('pulse-engagement-local'), arn('orders')],
});
afterAll(() => stop());

const putAs = async (handlerModule: string, ...buses: string[]): Promise<string> => {
  try {
    await invokeHandler(
      async () =>
        checkRequest({
          action: 'events:PutEvents',
          input: { Entries: buses.map((b) => ({ EventBusName: b })) },
        }),
      {},
      { handlerModule, functionName: `pulse-local-${handlerModule}`, region, timeoutMs: 1000 },
    );
    return 'allowed';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
};

describe('events:PutEvents locally', () => {
  it('allows the delivering modules on the granted buses, by name or ARN', async () => {
    expect(await putAs('destinations/consumer', 'pulse-engagement-local')).toBe('allowed');
    expect(await putAs('destinations/redrive', 'orders', arn('pulse-engagement-local'))).toBe('allowed');
  });

  it('denies another bus, the default bus, and a module that does not declare it', async () => {
    expect(await putAs('destinations/consumer', 'pulse-engagement-local', 'elsewhere')).toMatch(
      /^AccessDeniedException: .*events:PutEvents on resource: arn:aws:events:us-east-1:000000000000:event-bus\/elsewhere/,
    );
    expect(await putAs('destinations/consumer', '')).toContain('event-bus/default');
    expect(await putAs('destinations/destinations', 'pulse-engagement-local')).toContain(
      "'destinations/destinations' does not declare it",
    );
  });
});
