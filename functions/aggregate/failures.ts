/**
 * How the consumer reports an error a stage of applyBatch caught: the cause (error name and
 * message, never a payload), the stage, the shard and the sequence numbers of the records it
 * holds back — an operator can find them in the stream or the on-failure destination — and two
 * metrics: `ConsumerErrors` (the consumer's alarm watches it) and `ConsumerErrorsByStage` with a
 * `batchStage` dimension, for diagnosis. No personal data: the records are named by position,
 * not by person.
 */
import { logger, MetricUnit, metrics } from '../adapters/observability';
import type { StageFailure } from './apply-batch';

/** At most this many sequence numbers in one log line; the count says how many there were. */
const LISTED = 20;

export const reportFailure = (failure: StageFailure): void => {
  const error = failure.error instanceof Error ? failure.error : new Error(String(failure.error));
  logger.error('consumer stage failed; its records are retried from the lowest', {
    stage: failure.stage,
    shardId: failure.shardId,
    records: failure.sequenceNumbers.length,
    sequenceNumbers: failure.sequenceNumbers.slice(0, LISTED),
    error: { name: error.name, message: error.message },
  });
  metrics.addMetric('ConsumerErrors', MetricUnit.Count, 1);
  // `stage` is taken: every metric carries the deployment stage under that name.
  const single = metrics.singleMetric();
  single.addDimension('batchStage', failure.stage);
  single.addMetric('ConsumerErrorsByStage', MetricUnit.Count, 1);
};
