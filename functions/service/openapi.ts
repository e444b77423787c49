/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document of this API, generated from the route table
 * and the zod schemas (functions/core/openapi), built once per container. Public; no AWS client.
 */
import { openApiDocument } from '../core/openapi';
import { httpHandler } from '../http/handler';

const document = openApiDocument();
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

export const handler = httpHandler({
  module: 'service/openapi',
  authenticators: {},
  handle: async ({ event }) => {
    const host = [event.requestContext.domainName, event.headers?.host].find((h) => h && HOST.test(h));
    const protocol = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
    return {
      status: 200,
      body: { ...document, ...(host && { servers: [{ url: `${protocol}://${host}` }] }) },
      headers: { 'cache-control': 'public, max-age=300' },
    };
  },
});
