/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document of this API, generated from the route table
 * and the operations' contracts (openapi-document.ts), built once per container. Public; no AWS client.
 */

import { httpHandler } from '../http/handler';
import { contract } from './openapi.contract';
import { openApiDocument } from './openapi-document';

const document = openApiDocument();
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

export const handler = httpHandler({
  module: 'service/openapi',
  contract,
  authenticators: {},
  handlers: {
    openapi: async ({ event }) => {
      const host = [event.requestContext.domainName, event.headers?.host].find((h) => h && HOST.test(h));
      const protocol = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
      return {
        status: 200,
        body: { ...document, ...(host && { servers: [{ url: `${protocol}://${host}` }] }) },
        headers: { 'cache-control': 'public, max-age=300' },
      };
    },
  },
});
