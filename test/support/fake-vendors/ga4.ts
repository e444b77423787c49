/**
 * GA4's Measurement Protocol (`/mp/collect`) as documented: `measurement_id` and `api_secret` in
 * the query, a body with `client_id` and at most 25 `events`. It answers 2xx whatever it is sent —
 * a malformed event is dropped silently, counted here as `dropped` so tests can see what vanished.
 */
import { type FakeServer, startFakeServer } from './server';

export interface FakeGa4 extends FakeServer {
  /** Events GA4 would keep, with their request's client and user ids. */
  collected: { clientId: string; userId?: string; name: string; params: Record<string, unknown> }[];
  /** Events (or whole requests) GA4 would drop without saying so. */
  dropped: number;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const RESERVED = /^(google_|ga_|firebase_)/;

export const startFakeGa4 = async (auth: { measurementId: string; apiSecret: string }): Promise<FakeGa4> => {
  let fake: FakeGa4 | undefined;
  const server = await startFakeServer((req, body) => {
    const f = fake as FakeGa4;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/mp/collect') return { status: 404 };
    let payload: {
      client_id?: unknown;
      user_id?: unknown;
      events?: { name?: unknown; params?: Record<string, unknown> }[];
    };
    try {
      payload = JSON.parse(body);
    } catch {
      f.dropped++;
      return { status: 204 };
    }
    const authorized =
      url.searchParams.get('measurement_id') === auth.measurementId &&
      url.searchParams.get('api_secret') === auth.apiSecret;
    const events = Array.isArray(payload.events) ? payload.events : [];
    if (!authorized || typeof payload.client_id !== 'string' || events.length > 25) {
      f.dropped += Math.max(1, events.length);
      return { status: 204 };
    }
    for (const e of events) {
      const params = e.params ?? {};
      const ok =
        typeof e.name === 'string' &&
        NAME.test(e.name) &&
        !RESERVED.test(e.name) &&
        Object.keys(params).length <= 25 &&
        Object.entries(params).every(([k, v]) => NAME.test(k) && (typeof v !== 'string' || v.length <= 100));
      if (!ok) f.dropped++;
      else
        f.collected.push({
          clientId: payload.client_id,
          ...(typeof payload.user_id === 'string' && { userId: payload.user_id }),
          name: e.name as string,
          params,
        });
    }
    return { status: 204 };
  });
  fake = Object.assign(server, { collected: [], dropped: 0 });
  return fake;
};
