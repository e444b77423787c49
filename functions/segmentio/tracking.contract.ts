/** What `segmentio/tracking` takes and answers (see functions/http/operations.ts). */

import { ok, segmentAnswer } from '../core/response-schemas';
import {
  SEGMENT_CALLS,
  type SegmentCall,
  segmentBatchSchema,
  segmentMessageSchemas,
} from '../core/segmentio/protocol';
import type { Contract, OperationContract } from '../http/operations';

/** One operation per Segment call path (`/v1/track`, `/v1/t`, …): the message type the call takes. */
type CallContract = OperationContract & { params?: undefined };

const operationOf = (call: SegmentCall): CallContract => {
  const type = SEGMENT_CALLS[call];
  return {
    body: type === 'batch' ? segmentBatchSchema : segmentMessageSchemas[type],
    // Segment's answers: a batch keeps its valid messages (200) and lists the rejected ones.
    bodyValidation: 'handler',
    responses: ok(
      type === 'batch'
        ? 'Every valid message is in the stream; rejected ones are listed by index (and quarantined)'
        : 'The message is in the stream',
      segmentAnswer,
    ),
  };
};

/** One entry per Segment call, keyed by its route id (`segment_track`, `segment_b`, …). */
export const perCall = <T>(make: (call: SegmentCall) => T) =>
  Object.fromEntries(
    (Object.keys(SEGMENT_CALLS) as SegmentCall[]).map((call) => [`segment_${call}`, make(call)]),
  ) as { [K in SegmentCall as `segment_${K}`]: T };

export const contract = perCall(operationOf) satisfies Contract<'segmentio/tracking'>;
