/**
 * A request signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
 * v1, HMAC-SHA256 of id.timestamp.body), as every webhook destination request is: message batches
 * (vendors.ts) and erasures (deletion.ts). Pure.
 */
import type { Webhook } from 'standardwebhooks';
import type { HttpRequest } from './vendors';

export const signedWebhookRequest = (
  url: string,
  signer: Webhook,
  webhookId: string,
  now: Date,
  body: string,
): HttpRequest => ({
  url,
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signer.sign(webhookId, now, body),
  },
  body,
});
