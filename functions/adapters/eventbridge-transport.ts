/**
 * Sends a prepared PutEvents call (functions/core/destinations/eventbridge.ts) with the AWS SDK and
 * hands back the answer as the codecs read every vendor's: the PutEvents response as a 200 JSON body,
 * an AWS error as its HTTP status and the JSON protocol's `{__type, message}` body, or a timeout or
 * network failure. Never throws for the bus's sake: the codec judges every outcome.
 *
 * The SDK does not retry (maxAttempts 1): the outbox does, with its own backoff, and counts it.
 * The endpoint follows AWS_ENDPOINT_URL_EVENTBRIDGE (the local stack's PutEvents endpoint).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { VendorAnswer } from '../core/destinations/delivery';
import type { PutEventsCall } from '../core/destinations/eventbridge';
import { checkRequest } from './aws';

let client: EventBridgeClient | undefined;
const defaultClient = (): EventBridgeClient => {
  client ??= new EventBridgeClient({
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000 }),
  });
  return client;
};

interface AwsError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const errorAnswer = (error: unknown): VendorAnswer => {
  const e = error as AwsError;
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return { failure: 'timeout', message: e.message ?? 'no answer in time' };
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return { failure: 'network', message: String(e.message ?? e.name) };
  return { status, headers: {}, body: JSON.stringify({ __type: e.name, message: e.message ?? '' }) };
};

/** A PutEvents sender on this client (tests pass their own; functions use the container's). */
export const putEventsWith =
  (eventBridge: () => EventBridgeClient) =>
  async (call: PutEventsCall, timeoutMs: number): Promise<VendorAnswer> => {
    const Entries = call.entries.map((e) => ({ ...e, Time: new Date(e.Time) }));
    try {
      // IAM, locally (lib/local/access-guard.ts): the buses this module may put events on.
      checkRequest({ action: 'events:PutEvents', input: { Entries } });
      const out = await eventBridge().send(new PutEventsCommand({ Entries }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return {
        status: out.$metadata.httpStatusCode ?? 200,
        headers: {},
        body: JSON.stringify({ FailedEntryCount: out.FailedEntryCount ?? 0, Entries: out.Entries ?? [] }),
      };
    } catch (error) {
      return errorAnswer(error);
    }
  };

export const putEvents = putEventsWith(defaultClient);
