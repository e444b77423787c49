/** Reading a stream back whole, and injecting PutRecords partial failures the way Kinesis reports them. */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';

export const readStream = async (client: KinesisClient, streamName: string) => {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const records: { partitionKey: string; data: string; shardId: string; sequenceNumber: string }[] = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? [])
        records.push({
          partitionKey: r.PartitionKey as string,
          data: Buffer.from(r.Data as Uint8Array).toString('utf8'),
          shardId: shard.ShardId as string,
          sequenceNumber: r.SequenceNumber as string,
        });
      if (!page.Records?.length || page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return records;
};

/**
 * Makes the client's PutRecords fail the entries `shouldFail` picks, as Kinesis does: the
 * entry never reaches the stream and the answer is 200 with an ErrorCode in its slot.
 */
export const injectPartialFailures = (
  client: KinesisClient,
  shouldFail: (entry: { data: string; index: number }, call: number) => boolean,
  errorCode = 'ProvisionedThroughputExceededException',
) => {
  let call = 0;
  const calls: number[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as PutRecordsCommandInput;
      if (!input.Records || !('StreamName' in input)) return next(args);
      call++;
      calls.push(input.Records.length);
      const failing = input.Records.map((r, i) =>
        shouldFail({ data: Buffer.from(r.Data as Uint8Array).toString('utf8'), index: i }, call),
      );
      const passed = input.Records.filter((_, i) => !failing[i]);
      const result =
        passed.length > 0
          ? await next({ ...args, input: { ...input, Records: passed } })
          : { output: { Records: [], FailedRecordCount: 0, $metadata: {} }, response: {} };
      const output = result.output as PutRecordsCommandOutput;
      const real = [...(output.Records ?? [])];
      output.Records = failing.map((fail) =>
        fail
          ? { ErrorCode: errorCode, ErrorMessage: 'Rate exceeded for shard (injected)' }
          : (real.shift() as never),
      );
      output.FailedRecordCount = (output.FailedRecordCount ?? 0) + failing.filter(Boolean).length;
      return result;
    },
    { step: 'initialize', name: 'injectPartialFailures' },
  );
  return { calls };
};
