/**
 * The emulators: every table and the stream are created from the declarations, LevelDB data
 * dirs survive a restart, and running services named by AWS_ENDPOINT_URL_* are used as they are.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators } from '../../lib/local/emulators';
import { eventStream } from '../../lib/stream';
import { tableList, tables } from '../../lib/tables';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pulse-emulators-test-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('emulators', () => {
  it('creates every declared table and the stream, named pulse-local-<name>', async () => {
    const emulators = await startEmulators({ env: {} });
    try {
      expect(emulators.external).toEqual({ dynamodb: false, kinesis: false });
      expect(emulators.endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { TableNames = [] } = await emulators.dynamodb.send(new ListTablesCommand({}));
      expect(TableNames.sort()).toEqual(tableList.map((t) => `pulse-local-${t.name}`).sort());
      for (const def of tableList) {
        const { Table } = await emulators.dynamodb.send(
          new DescribeTableCommand({ TableName: `pulse-local-${def.name}` }),
        );
        expect(Table?.TableStatus).toBe('ACTIVE');
        expect(Table?.KeySchema).toEqual([
          { AttributeName: 'pk', KeyType: 'HASH' },
          ...(def.sortKey ? [{ AttributeName: 'sk', KeyType: 'RANGE' }] : []),
        ]);
        expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(
          def.indexes.map((i) => i.name).sort(),
        );
      }
      const summary = await emulators.kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: 'pulse-local-events' }),
      );
      expect(summary.StreamDescriptionSummary).toMatchObject({
        StreamStatus: 'ACTIVE',
        OpenShardCount: eventStream.defaultShardCount,
        RetentionPeriodHours: eventStream.retentionHours,
      });
      expect(emulators.streamArn).toBe('arn:aws:kinesis:us-east-1:000000000000:stream/pulse-local-events');
    } finally {
      await emulators.close();
    }
  });

  it('keeps tables, items, the stream and its records in a data dir across a restart', async () => {
    const first = await startEmulators({ env: {}, dataDir });
    const table = first.names.tables.metrics;
    await first.dynamodb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'kept' }, sk: { S: '1' } } }),
    );
    const put = await first.kinesis.send(
      new PutRecordCommand({ StreamName: first.names.stream, PartitionKey: 'p', Data: Buffer.from('kept') }),
    );
    await first.close();

    const second = await startEmulators({ env: {}, dataDir });
    try {
      const { Item } = await second.dynamodb.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: 'kept' }, sk: { S: '1' } } }),
      );
      expect(Item).toEqual({ pk: { S: 'kept' }, sk: { S: '1' } });
      const { ShardIterator } = await second.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: second.names.stream,
          ShardId: put.ShardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: put.SequenceNumber,
        }),
      );
      const { Records = [] } = await second.kinesis.send(new GetRecordsCommand({ ShardIterator }));
      expect(Buffer.from(Records[0]?.Data ?? []).toString()).toBe('kept');
      const { Shards = [] } = await second.kinesis.send(
        new ListShardsCommand({ StreamName: second.names.stream }),
      );
      expect(Shards).toHaveLength(eventStream.defaultShardCount);
    } finally {
      await second.close();
    }
  });

  it('refuses a data dir another stack holds instead of crashing', async () => {
    const holder = await startEmulators({ env: {}, dataDir });
    try {
      await expect(startEmulators({ env: {}, dataDir })).rejects.toThrow(/in use by this process/);
    } finally {
      await holder.close();
    }
  });

  it('uses the services AWS_ENDPOINT_URL_* name, creating only what is missing', async () => {
    const owner = await startEmulators({ env: {} });
    try {
      await owner.dynamodb.send(
        new PutItemCommand({
          TableName: owner.names.tables.users,
          Item: { pk: { S: 'u' }, sk: { S: 'profile' } },
        }),
      );
      const guest = await startEmulators({
        env: {
          AWS_ENDPOINT_URL_DYNAMODB: owner.endpoints.dynamodb,
          AWS_ENDPOINT_URL_KINESIS: owner.endpoints.kinesis,
        },
      });
      expect(guest.external).toEqual({ dynamodb: true, kinesis: true });
      expect(guest.endpoints).toEqual(owner.endpoints);
      expect(guest.streamArn).toBe(owner.streamArn);
      const { Item } = await guest.dynamodb.send(
        new GetItemCommand({
          TableName: guest.names.tables.users,
          Key: { pk: { S: 'u' }, sk: { S: 'profile' } },
        }),
      );
      expect(Item?.pk?.S).toBe('u');
      await guest.close();
      // Closing the guest leaves the owner's services running.
      const { TableNames = [] } = await owner.dynamodb.send(new ListTablesCommand({}));
      expect(TableNames).toContain(`pulse-local-${tables.users.name}`);
    } finally {
      await owner.close();
    }
  });
});
