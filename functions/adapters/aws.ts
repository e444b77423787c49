/**
 * AWS clients, one per container. Endpoints come from the SDK's own AWS_ENDPOINT_URL_* support,
 * so the same code talks to AWS, to the local emulators, or to DynamoDB Local / LocalStack.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

let kinesis: KinesisClient | undefined;
let dynamo: DynamoDBClient | undefined;
let document: DynamoDBDocumentClient | undefined;

/** HTTP/1.1 handler: the SDK's default HTTP/2 handler for Kinesis fails against kinesalite. */
export const kinesisClient = (): KinesisClient => {
  kinesis ??= new KinesisClient({ requestHandler: new NodeHttpHandler({ connectionTimeout: 2000 }) });
  return kinesis;
};

export const dynamoClient = (): DynamoDBClient => {
  dynamo ??= new DynamoDBClient({});
  return dynamo;
};

export const documentClient = (): DynamoDBDocumentClient => {
  document ??= DynamoDBDocumentClient.from(dynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return document;
};

/** A required environment variable; a missing one is a deployment bug, so fail loudly at init. */
export const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
};
