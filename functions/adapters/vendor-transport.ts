/**
 * Sends a vendor request over HTTPS and hands back the answer as the codecs read it
 * (functions/core/destinations/vendors.ts): status, lower-cased headers, body — or a timeout or
 * network failure. Never throws for the vendor's sake: every outcome is the codec's to judge.
 * A PutEvents call (eventbridge) goes through the AWS SDK instead (./eventbridge-transport.ts).
 */
import type { VendorAnswer } from '../core/destinations/delivery';
import { isPutEventsCall } from '../core/destinations/eventbridge';
import type { VendorRequest } from '../core/destinations/vendors';
import { putEvents } from './eventbridge-transport';

/** Per request: a vendor slower than this counts as a timeout (retried). */
export const VENDOR_TIMEOUT_MS = 10_000;
/** Bodies kept from an answer: enough for partial-success details and errors. */
const MAX_ANSWER_BYTES = 64 * 1024;

export const sendRequest = async (
  request: VendorRequest,
  timeoutMs = VENDOR_TIMEOUT_MS,
): Promise<VendorAnswer> => {
  if (isPutEventsCall(request)) return putEvents(request, timeoutMs);
  try {
    const res = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    const body = (await res.text()).slice(0, MAX_ANSWER_BYTES);
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { status: res.status, headers, body };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return { failure: 'timeout', message: `no answer within ${timeoutMs} ms` };
    return { failure: 'network', message: String((e.cause as Error | undefined)?.message ?? e.message) };
  }
};
