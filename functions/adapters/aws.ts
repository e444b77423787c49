/**
 * AWS clients, one per container. Endpoints come from the SDK's own AWS_ENDPOINT_URL_* support,
 * so the same code talks to AWS, to the local emulators, or to DynamoDB Local / LocalStack.
 *
 * The local stack has no IAM: it registers a request check here (registerRequestCheck) that holds
 * every call to lib/access.ts, as the function's role does in AWS. Nothing registers one in AWS.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** One call as IAM sees it: the action (`dynamodb:Query`) and the request's parameters. */
export interface AwsRequest {
  readonly action: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Throws (as IAM answers AccessDeniedException) for a request the caller may not make. */
export type RequestCheck = (request: AwsRequest) => void;

const requestChecks = new Set<RequestCheck>();

/** Adds a check every AWS call made through this module (and checkRequest) goes through; returns its removal. */
export const registerRequestCheck = (check: RequestCheck): (() => void) => {
  requestChecks.add(check);
  return () => {
    requestChecks.delete(check);
  };
};

/**
 * Runs the registered checks on a request; for what the local stack serves without an SDK call
 * (the signing key, the failure folder), which IAM guards in AWS all the same.
 */
export const checkRequest = (request: AwsRequest): void => {
  for (const check of requestChecks) check(request);
};

type MiddlewareStack = DynamoDBClient['middlewareStack'] | KinesisClient['middlewareStack'];

/** The checks, as the first middleware of a client: before signing, with the command's own input. */
const withRequestChecks = <C extends { middlewareStack: MiddlewareStack }>(client: C, service: string): C => {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      if (requestChecks.size > 0) {
        const command = (context.commandName ?? '').replace(/Command$/, '');
        checkRequest({ action: `${service}:${command}`, input: args.input as Record<string, unknown> });
      }
      return next(args);
    },
    { step: 'initialize', name: 'pulseRequestChecks', priority: 'high' },
  );
  return client;
};

let kinesis: KinesisClient | undefined;
let dynamo: DynamoDBClient | undefined;
let document: DynamoDBDocumentClient | undefined;

/** HTTP/1.1 handler: the SDK's default HTTP/2 handler for Kinesis fails against kinesalite. */
export const kinesisClient = (): KinesisClient => {
  kinesis ??= withRequestChecks(
    new KinesisClient({ requestHandler: new NodeHttpHandler({ connectionTimeout: 2000 }) }),
    'kinesis',
  );
  return kinesis;
};

export const dynamoClient = (): DynamoDBClient => {
  // The document client shares this client's middleware stack: its calls are checked too.
  dynamo ??= withRequestChecks(new DynamoDBClient({}), 'dynamodb');
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
