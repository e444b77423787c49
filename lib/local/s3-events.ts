/**
 * What S3 announces when an object is written, as EventBridge delivers it ("Object Created"): the
 * local stack hands it to the failure index when the event source mapping emulator writes a failed
 * batch, as S3 and EventBridge do for the on-failure bucket in AWS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID } from './lambda';

/** The bucket name local events carry; the folder stands in for it. */
export const LOCAL_FAILURE_BUCKET = 'pulse-local-failures';

export const objectCreatedEvent = (options: {
  bucket: string;
  key: string;
  size: number;
  region: string;
}) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: LOCAL_ACCOUNT_ID,
  time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: options.region,
  resources: [`arn:aws:s3:::${options.bucket}`],
  detail: {
    version: '0',
    bucket: { name: options.bucket },
    object: {
      key: options.key,
      size: options.size,
      etag: randomBytes(16).toString('hex'),
      sequencer: randomBytes(9).toString('hex').toUpperCase(),
    },
    'request-id': randomBytes(8).toString('hex').toUpperCase(),
    requester: LOCAL_ACCOUNT_ID,
    reason: 'PutObject',
  },
});
