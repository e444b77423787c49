import { Problem } from '../core/problem';
import { segmentSettings } from '../core/segmentio/settings';
import { httpHandler } from '../http/handler';
import { sourceWriteKeys } from '../http/write-keys';
import { contract } from './settings.contract';

const writeKeys = sourceWriteKeys();

/** A host name with an optional port: anything else in a Host header is not echoed back. */
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

export const handler = httpHandler({
  module: 'segmentio/settings',
  contract,
  authenticators: { writeKey: writeKeys },
  handlers: {
    segmentSettings: async ({ event }, { params: { writeKey } }) => {
      // The request may have authenticated with a header key: the path's key is the one the SDK
      // will send with, so it is the one that must exist (a cache hit when it authenticated).
      if (!(await writeKeys(writeKey))) throw new Problem(404, 'not_found', 'Unknown or revoked write key');
      const host = [event.requestContext.domainName, event.headers?.host].find((h) => h && HOST.test(h));
      if (!host) throw new Problem(400, 'validation_failed', 'The request names no usable host');
      const protocol = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
      return { status: 200, body: segmentSettings(writeKey, host, protocol) };
    },
  },
});
