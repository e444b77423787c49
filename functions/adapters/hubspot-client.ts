/**
 * HubSpot's CRM search API, as the connector uses it: `POST /crm/v3/objects/contacts/search` with
 * a private-app token (Bearer). A 429 (HubSpot's per-second and search limits) is waited out as
 * its Retry-After says (else a backoff with jitter) a few times; 5xx likewise; other answers are
 * errors the run reports. The base URL is HubSpot's unless PULSE_HUBSPOT_API_URL names another
 * (tests point it at a fake HubSpot).
 */
import { ENV } from '../../lib/config';
import type { SearchPage } from '../core/crm-sync';

export const HUBSPOT_API_URL = 'https://api.hubapi.com';

/** HubSpot refused the call: the status, and HubSpot's own category (never a contact's data). */
export class HubspotError extends Error {
  constructor(
    readonly status: number,
    readonly category: string | undefined,
  ) {
    super(`HubSpot answered ${status}${category ? ` (${category})` : ''}`);
    this.name = 'HubspotError';
  }
}

/** Still rate limited after every retry this run could afford: the next run resumes. */
export class HubspotRateLimitedError extends HubspotError {
  constructor() {
    super(429, 'RATE_LIMIT');
    this.name = 'HubspotRateLimitedError';
  }
}

export interface HubspotClientOptions {
  baseUrl?: string;
  /** Attempts per call on 429 and 5xx. */
  attempts?: number;
  /** Told of every 429 (the run counts them). */
  onRateLimited?: () => void;
  /** Waits (tests make them instant); must not pass `deadline`. */
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms the caller must be done by: no wait goes past it. */
  deadline?: number;
}

const retryAfterMs = (header: string | null, attempt: number): number => {
  const seconds = header === null ? Number.NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  // HubSpot's limits are per second and per 10 s: back off from a second, with jitter.
  return Math.min(10_000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
};

export class HubspotClient {
  private readonly baseUrl: string;

  constructor(
    private readonly token: string,
    private readonly options: HubspotClientOptions = {},
  ) {
    this.baseUrl = (options.baseUrl ?? process.env[ENV.hubspotApiUrl] ?? HUBSPOT_API_URL).replace(/\/$/, '');
  }

  /** One page of the contacts search. */
  async searchContacts(body: object): Promise<SearchPage> {
    const attempts = this.options.attempts ?? 5;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.baseUrl}/crm/v3/objects/contacts/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      if (res.ok) return (await res.json()) as SearchPage;
      const retriable = res.status === 429 || res.status >= 500;
      if (res.status === 429) this.options.onRateLimited?.();
      const wait = retryAfterMs(res.headers.get('retry-after'), attempt);
      const category = await res
        .json()
        .then(
          (b) =>
            (b as { category?: string; errorType?: string }).category ??
            (b as { errorType?: string }).errorType,
        )
        .catch(() => undefined);
      const outOfTime = this.options.deadline !== undefined && Date.now() + wait > this.options.deadline;
      if (!retriable || attempt + 1 >= attempts || outOfTime)
        throw res.status === 429 ? new HubspotRateLimitedError() : new HubspotError(res.status, category);
      await sleep(wait);
    }
  }
}
