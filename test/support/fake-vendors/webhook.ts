/**
 * A webhook receiver as a Standard Webhooks consumer writes one: it verifies every request's
 * signature with the `standardwebhooks` library (id, timestamp within tolerance, HMAC) and refuses
 * what fails (401), and it deduplicates on `webhook-id` as the specification recommends. It acts on
 * `person.erased` (forgets what it received under any of the ids) and keeps the request's data.
 */
import { Webhook } from 'standardwebhooks';
import { type FakeServer, startFakeServer } from './server';

export interface ReceivedMessage {
  id: string;
  kind: string;
  at: string;
  personKey?: string;
  userId?: string;
  segment?: string;
  hashedIds?: Record<string, string>;
  alert?: Record<string, unknown>;
  event?: { eventId: string; type: string; campaignId?: string };
}

export interface FakeWebhook extends FakeServer {
  /** Messages of every verified request, in arrival order (a redelivered webhook-id counted once). */
  messages: ReceivedMessage[];
  /** Requests whose signature did not verify. */
  unverified: number;
  /** Verified `person.erased` messages' data, once per webhook-id. */
  erasures: { erasureId: string; erasedAt: string; personKey: string; ids: string[] }[];
  /** Verified requests by webhook-id (a retry of the same batch repeats the id). */
  deliveries: Map<string, number>;
}

export const startFakeWebhook = async (secret: () => string | undefined): Promise<FakeWebhook> => {
  let fake: FakeWebhook | undefined;
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeWebhook;
    const key = secret();
    try {
      if (!key) throw new Error('no secret yet');
      new Webhook(key).verify(body, req.headers as Record<string, string>);
    } catch {
      f.unverified++;
      return { status: 401, body: { error: 'signature' } };
    }
    const id = String(req.headers['webhook-id']);
    const seen = f.deliveries.get(id) ?? 0;
    f.deliveries.set(id, seen + 1);
    const payload = JSON.parse(body) as { type: string; data: Record<string, unknown> };
    if (seen === 0 && payload.type === 'person.erased') {
      const erasure = payload.data as FakeWebhook['erasures'][number];
      f.erasures.push(erasure);
      const gone = new Set(erasure.ids);
      f.messages = f.messages.filter((m) => !gone.has(m.userId ?? '') && !gone.has(m.personKey ?? ''));
    } else if (seen === 0) f.messages.push(...(payload.data.messages as ReceivedMessage[]));
    return { status: 204 };
  });
  fake = Object.assign(server, {
    messages: [],
    erasures: [],
    unverified: 0,
    deliveries: new Map<string, number>(),
  });
  return fake;
};
