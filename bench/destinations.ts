/**
 * Destinations in the local stack: events sent over HTTP reach a webhook destination pointed at a
 * no-op receiver (answers 204, verifies nothing), through the stream, the destinations consumer,
 * the outbox and Standard Webhooks signing. Measured: delivered events/s, and the time from each
 * event's 202 to its arrival at the receiver (p50, p99).
 *
 * The floor, in the same run: the same events POSTed straight to the same receiver in the batches
 * the destination would send (100 per request, two in flight) — what the receiver and loopback
 * allow with no Pulse in between. The ratio says what Pulse's path costs against it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startE2E } from '../test/support/e2e';
import { validEvent } from '../test/support/events';

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);
const round = (n: number) => Math.round(n * 10) / 10;

/** A receiver that only notes when each message id arrived. */
const noopReceiver = async () => {
  const arrivals = new Map<string, number>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      requests++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        data: { messages: { id: string }[] };
      };
      for (const m of body.data.messages) if (!arrivals.has(m.id)) arrivals.set(m.id, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

export const destinationsBench = async (
  options: { events?: number; users?: number; batch?: number } = {},
) => {
  const count = options.events ?? 1000;
  const users = Array.from({ length: options.users ?? 50 }, (_, i) => `bench-dest-${i}`);
  const batch = options.batch ?? 50;
  const receiver = await noopReceiver();
  const e2e = await startE2E({
    env: { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
    schedules: false,
  });
  try {
    const put = await e2e.call('/api/destinations/bench', {
      method: 'PUT',
      headers: { authorization: `Bearer ${e2e.admin}` },
      json: { type: 'webhook', enabled: true, settings: { url: receiver.url }, consentPurpose: 'analytics' },
    });
    if (put.status !== 201) throw new Error(`destination: ${put.status} ${await put.text()}`);
    const tokens = new Map(await Promise.all(users.map(async (u) => [u, await e2e.consent(u)] as const)));
    const events = Array.from({ length: count }, (_, i) => {
      const userId = users[i % users.length] as string;
      return validEvent('click', { userId, consentToken: tokens.get(userId), campaignId: 'bench-dest' });
    });
    // Let the destinations cache see the new destination before the clock starts.
    await new Promise((r) => setTimeout(r, 11_000));

    const accepted = new Map<string, number>();
    const started = performance.now();
    const send = async (lane: number) => {
      for (let i = lane * batch; i < events.length; i += 2 * batch) {
        const part = events.slice(i, i + batch);
        const res = await e2e.call('/api/engagement/events', {
          method: 'POST',
          headers: { 'x-api-key': e2e.writeKey },
          json: { events: part },
        });
        if (res.status !== 202) throw new Error(`ingest: ${res.status} ${await res.text()}`);
        const at = performance.now();
        for (const e of part) accepted.set(e.eventId as string, at);
      }
    };
    await Promise.all([send(0), send(1)]);
    const deadline = Date.now() + 300_000;
    while (receiver.arrivals.size < count && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const lastArrival = Math.max(...receiver.arrivals.values());
    const latencies = [...accepted]
      .map(([id, at]) => (receiver.arrivals.get(id) ?? Number.NaN) - at)
      .filter((n) => !Number.isNaN(n))
      .sort((a, b) => a - b);
    const pulsePerSecond = receiver.arrivals.size / ((lastArrival - started) / 1000);

    // The floor: the same events straight to the receiver, in the destination's batches.
    const floorReceiver = await noopReceiver();
    const floorStarted = performance.now();
    const direct = async (lane: number) => {
      for (let i = lane * 100; i < events.length; i += 200) {
        const messages = events
          .slice(i, i + 100)
          .map((e) => ({ id: `${e.eventId}`, kind: 'event', event: e }));
        await fetch(floorReceiver.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'pulse.messages', data: { messages } }),
        });
      }
    };
    await Promise.all([direct(0), direct(1)]);
    const floorPerSecond = count / ((performance.now() - floorStarted) / 1000);
    await floorReceiver.close();

    return {
      events: count,
      delivered: receiver.arrivals.size,
      webhookRequests: receiver.requests(),
      deliveredPerSecond: round(pulsePerSecond),
      floorPerSecond: round(floorPerSecond),
      ratioToFloor: Number((pulsePerSecond / floorPerSecond).toFixed(3)),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: receiver.arrivals.size === count ? round(percentile(latencies, 0.99)) : Number.POSITIVE_INFINITY,
    };
  } finally {
    await e2e.close();
    await receiver.close();
  }
};
