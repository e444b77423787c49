import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger, metrics } from '../../functions/adapters/observability';
import { reportFailure } from '../../functions/aggregate/failures';

afterEach(() => vi.restoreAllMocks());

describe("the consumer's failure report", () => {
  it('logs the cause, stage, shard and records (by position only) and counts it by stage', () => {
    const logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
    const added: { dimensions: Record<string, string>; name: string; value: number }[] = [];
    vi.spyOn(metrics, 'addMetric').mockImplementation((name: string, _unit: unknown, value: number) => {
      added.push({ dimensions: {}, name, value });
      return metrics;
    });
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      const dimensions: Record<string, string> = {};
      return {
        addDimension: (k: string, v: string) => {
          dimensions[k] = v;
        },
        addMetric: (name: string, _unit: unknown, value: number) => added.push({ dimensions, name, value }),
      } as unknown as ReturnType<typeof metrics.singleMetric>;
    });
    const seqs = Array.from({ length: 30 }, (_, i) => String(1000 + i));
    const error = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
    });
    reportFailure({ stage: 'counters', error, shardId: 'shardId-000000000001', sequenceNumbers: seqs });

    expect(logged).toHaveBeenCalledTimes(1);
    const [message, fields] = logged.mock.calls[0] as [string, Record<string, unknown>];
    expect(message).toMatch(/stage failed/);
    expect(fields).toEqual({
      stage: 'counters',
      shardId: 'shardId-000000000001',
      records: 30,
      sequenceNumbers: seqs.slice(0, 20),
      error: {
        name: 'ProvisionedThroughputExceededException',
        message: 'Throughput exceeds the current capacity',
      },
    });
    expect(added).toEqual([
      { dimensions: {}, name: 'ConsumerErrors', value: 1 },
      { dimensions: { batchStage: 'counters' }, name: 'ConsumerErrorsByStage', value: 1 },
    ]);
  });
});
