import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import fc from 'fast-check';
import kinesalite from 'kinesalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkRecords, KinesisWriter, StreamUnavailableError } from '../../functions/adapters/kinesis-writer';
import { injectPartialFailures, readStream } from '../support/kinesis';

let server: ReturnType<typeof kinesalite>;
let endpoint: string;
const client = () =>
  new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
const noSleep = async () => {};
let streamNo = 0;

const newStream = async (shards = 2) => {
  const name = `writer-${++streamNo}`;
  const c = client();
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  const deadline = Date.now() + 10_000;
  while (
    (await c.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary
      ?.StreamStatus !== 'ACTIVE'
  ) {
    if (Date.now() > deadline) throw new Error('stream not active');
    await new Promise((r) => setImmediate(r));
  }
  return name;
};

const records = (n: number, tag = 'e') =>
  Array.from({ length: n }, (_, i) => ({
    partitionKey: `person-${i % 37}`,
    data: Buffer.from(`${tag}-${i}`),
  }));

beforeAll(async () => {
  server = kinesalite({ createStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('chunkRecords', () => {
  it('keeps every record, in order, within 500 entries and 5 MiB per request', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200_000 }), { maxLength: 1200 }), (sizes) => {
        const input = sizes.map((s, i) => ({ partitionKey: `k${i}`, data: new Uint8Array(s) }));
        const chunks = chunkRecords(input);
        expect(chunks.flat()).toEqual(input);
        for (const c of chunks) {
          expect(c.length).toBeLessThanOrEqual(500);
          expect(c.reduce((n, r) => n + r.data.byteLength + r.partitionKey.length, 0)).toBeLessThanOrEqual(
            5 * 1024 * 1024,
          );
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('KinesisWriter against kinesalite', () => {
  it('writes a 1,200-record batch across requests, each record once', async () => {
    const stream = await newStream();
    const input = records(1200);
    await new KinesisWriter(client(), stream, { sleep: noSleep }).putAll(input);
    const back = await readStream(client(), stream);
    expect(back.map((r) => r.data).sort()).toEqual(input.map((r) => r.data.toString()).sort());
  });

  it('resends only the entries that failed: nothing lost, nothing written twice', async () => {
    const stream = await newStream();
    const c = client();
    // Every third entry fails on the first two attempts of each request.
    const { calls } = injectPartialFailures(c, ({ index }, call) => call <= 4 && index % 3 === 0);
    let retried = 0;
    const input = records(700, 'p');
    await new KinesisWriter(c, stream, { sleep: noSleep, onRetry: (n) => (retried += n) }).putAll(input);
    const back = await readStream(client(), stream);
    expect(back).toHaveLength(700);
    expect(new Set(back.map((r) => r.data)).size).toBe(700);
    expect(retried).toBeGreaterThan(0);
    // Resends carry only the failed entries, never the whole request again.
    expect(calls.slice(2).every((n) => n < 500)).toBe(true);
  });

  it('keeps the partition key of each record', async () => {
    const stream = await newStream(4);
    const input = records(50, 'k');
    await new KinesisWriter(client(), stream).putAll(input);
    const back = await readStream(client(), stream);
    const byData = new Map(back.map((r) => [r.data, r]));
    for (const r of input) expect(byData.get(r.data.toString())?.partitionKey).toBe(r.partitionKey);
    // One person's records share a shard, so their order holds.
    const shardsOf = new Map<string, Set<string>>();
    for (const r of back)
      shardsOf.set(r.partitionKey, (shardsOf.get(r.partitionKey) ?? new Set()).add(r.shardId));
    for (const shards of shardsOf.values()) expect(shards.size).toBe(1);
  });

  it('rejects with StreamUnavailableError when entries keep failing, and backs off with jitter', async () => {
    const stream = await newStream();
    const c = client();
    injectPartialFailures(c, ({ data }) => data === 'x-1' || data === 'x-4');
    const delays: number[] = [];
    const writer = new KinesisWriter(c, stream, {
      maxAttempts: 4,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.999,
    });
    const error = await writer.putAll(records(10, 'x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamUnavailableError);
    expect((error as StreamUnavailableError).failed).toBe(2);
    expect((error as StreamUnavailableError).errorCodes).toEqual(['ProvisionedThroughputExceededException']);
    // Exponential caps 50, 100, 200 ms (full jitter draws below each).
    expect(delays).toEqual([49, 99, 199]);
    // The 8 entries that succeeded were written once each; the two failing ones never.
    const back = await readStream(client(), stream);
    expect(back.map((r) => r.data).sort()).toEqual(['x-0', 'x-2', 'x-3', 'x-5', 'x-6', 'x-7', 'x-8', 'x-9']);
  });

  it('rejects with StreamUnavailableError when the stream does not exist', async () => {
    const writer = new KinesisWriter(client(), 'no-such-stream', { sleep: noSleep });
    await expect(writer.putAll(records(3))).rejects.toBeInstanceOf(StreamUnavailableError);
  });
});
