/**
 * `npm start`: the whole backend on this machine — emulators, tables, stream, the API on
 * http://localhost:3000 and the stream consumers — with the same handler code as in AWS.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { documentClient } from '../functions/adapters/aws';
import { SourcesRepository } from '../functions/adapters/sources-repository';
import { DEFAULT_RATE_LIMIT } from '../functions/core/sources';
import { parseCorsOrigins } from '../lib/cors';
import { FRONT_DOORS, type FrontDoor } from '../lib/front-door';
import { RUNNING_STACK_FILE, removeRunningStack, writeRunningStack } from '../lib/local/running';
import { type LocalStack, startLocalStack } from '../lib/local/stack';

export const USAGE = `Usage: npm start -- [options]

Runs Pulse locally: DynamoDB and Kinesis emulators, the HTTP API and the stream consumers.

Options:
  --port N            API port (default 3000; 0 picks a free one)
  --host HOST         API interface (default 127.0.0.1)
  --data DIR          keep tables, stream, consumer checkpoints and failed batches in DIR
                      between runs, e.g. --data .pulse (git ignores it); default: in memory
  --dynamodb-port N   fixed DynamoDB emulator port (default: a free one)
  --kinesis-port N    fixed Kinesis emulator port (default: a free one)
  --cors-origins LIST comma-separated browser origins allowed by CORS, as pulse:corsOrigins
                      (e.g. http://localhost:5173; * for any); default: none
  --front-door alb    also serve the ALB front door (pulse:frontDoor=alb) on its own port: the
                      write-key routes with ALB's event shapes, as SDKs reach them when deployed
  --verbose           every function's log lines and one line per request (default: warnings
                      and errors only)
  -h, --help          show this help

While it runs, ${RUNNING_STACK_FILE} tells npm run token and npm run demo where it is and which
key it trusts, so they need no --url or --data.

AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_KINESIS point it at running services instead of
starting its own emulators (AWS_ENDPOINT_URL_EVENTBRIDGE likewise for eventbridge destinations;
PULSE_EVENT_BUSES lists the buses they may use besides pulse-engagement-local). Ctrl-C stops it.`;

const port = (value: string | undefined, flag: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number, got ${value}`);
  return n;
};

/** The API URL as people type it. */
const displayUrl = (url: string): string => url.replace('://127.0.0.1:', '://localhost:');

/**
 * ─── Extra banner lines ────────────────────────────────────────────────────────────────────
 * The spot for what needs the sources repository and the token tooling: the ready write key,
 * how to mint analyst/admin tokens, a curl line that works. Returns lines to print.
 */
export const extraLines = async (stack: LocalStack): Promise<string[]> => {
  const { writeKey, source } = await devSource(stack);
  const api = displayUrl(stack.url);
  return [
    `Write key      ${writeKey}   (source "${source.name}", ${source.kind}, ${source.channel}; kept in ${join(stack.keyDir, DEV_WRITE_KEY_FILE)})`,
    'Tokens         npm run -s token -- --role analyst     (or --role admin; it finds this stack)',
    '',
    'Record consent (events need a consent token granting analytics), then send an event:',
    `  TOKEN=$(curl -s -X PUT ${api}/api/users/user-1/consent -H 'content-type: application/json' -H 'x-api-key: ${writeKey}' \\`,
    `    -d '{"purposes":{"analytics":true},"policyVersion":"2026-01"}' | sed -E 's/.*"consentToken":"([^"]+)".*/\\1/')`,
    `  curl -i -X POST ${api}/api/engagement/click -H 'content-type: application/json' -H 'x-api-key: ${writeKey}' \\`,
    `    -H "x-consent-token: $TOKEN" \\`,
    `    -d '{"userId":"user-1","campaignId":"spring-sale","elementId":"cta","deviceType":"mobile","timestamp":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'"}'`,
    'See it counted:',
    `  curl -H "authorization: Bearer $(npm run -s token -- --role analyst)" ${api}/api/metrics/campaigns/spring-sale`,
  ];
};

export const DEV_WRITE_KEY_FILE = 'dev-write-key';
/**
 * A server source: its key stays on this machine, so it acts for any id as a customer's backend
 * does (identity verification trusts server keys). Create a client source to try a public key's
 * limits (docs/identity-verification.md).
 */
const DEV_SOURCE = {
  name: 'local dev',
  channel: 'web',
  kind: 'server',
  rateLimit: DEFAULT_RATE_LIMIT,
} as const;
/** A kept key of the other kind (an older dev source's `pk_`) is replaced, so its kind shows. */
const DEV_KEY_PREFIX = 'sk_';

/**
 * The local dev source and its write key, the same from one start to the next: keys are stored
 * only as hashes, so the key is kept in a file beside the signing keys (the --data folder, or
 * .pulse in memory mode), and registered again when the tables start empty. A key revoked in a
 * kept table is replaced by a new one.
 */
const devSource = async (stack: LocalStack) => {
  const repository = new SourcesRepository(documentClient(), stack.names.tables.sources);
  const keyFile = join(stack.keyDir, DEV_WRITE_KEY_FILE);
  const stored = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
  const kept = stored.startsWith(DEV_KEY_PREFIX) ? stored : '';
  if (kept) {
    const source = await repository.findByWriteKey(kept);
    if (source) return { writeKey: kept, source };
    try {
      return await repository.create(DEV_SOURCE, new Date(), kept);
    } catch (error) {
      // Its hash is taken: the key was revoked; a new one below.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  const created = await repository.create(DEV_SOURCE);
  mkdirSync(stack.keyDir, { recursive: true });
  writeFileSync(keyFile, `${created.writeKey}\n`, { mode: 0o600 });
  return created;
};

/** The banner: where everything listens, plus `extra` lines (see extraLines). */
export const banner = (stack: LocalStack, extra: readonly string[] = [], verbose = false): string => {
  const api = displayUrl(stack.url);
  const tables = Object.entries(stack.names.tables).map(
    ([logical, physical]) => `    ${logical.padEnd(10)} ${physical}`,
  );
  const mark = (external: boolean) => (external ? ' (external)' : '');
  const anyTable = Object.values(stack.names.tables)[0] ?? '';
  return [
    '',
    'Pulse local stack',
    '',
    `  API            ${api}`,
    ...(stack.ingestUrl !== stack.url ? [`  Ingest (ALB)   ${displayUrl(stack.ingestUrl)}`] : []),
    `  Console        ${api}/console/   (sign in as analyst or admin; API docs at ${api}/api/docs)`,
    `  DynamoDB       ${stack.endpoints.dynamodb}${mark(stack.external.dynamodb)}`,
    `  Kinesis        ${stack.endpoints.kinesis}${mark(stack.external.kinesis)}`,
    `  Stream         ${stack.names.stream}`,
    '  Tables',
    ...tables,
    `  Failed batches ${stack.failureDir}`,
    // eventbridge destinations (docs/destinations.md)
    ...(stack.eventBridge.endpoint
      ? [
          `  EventBridge    ${stack.eventBridge.endpoint.url}   (PutEvents; each bus's events in ${stack.eventBridge.endpoint.dir}/<bus>.ndjson; Pulse's bus: ${stack.eventBridge.engagementBus})`,
        ]
      : []),
    `  Data           ${stack.dataDir ?? 'in memory (use --data DIR to keep it)'}`,
    '',
    `  Logs           ${verbose ? 'every function log line, one line per request' : 'warnings and errors only (--verbose for all)'}`,
    '',
    `  Try: curl ${api}/api/health`,
    '       # the AWS CLI insists on credentials; the emulators take any:',
    `       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws dynamodb scan --table-name ${anyTable} \\`,
    `         --endpoint-url ${stack.endpoints.dynamodb} --region ${stack.env.AWS_REGION}`,
    ...(extra.length ? ['', ...extra.map((l) => `  ${l}`)] : []),
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
};

/** Powertools' log level for the functions: warnings and errors unless --verbose (or set by hand). */
const LOG_LEVEL_VAR = 'POWERTOOLS_LOG_LEVEL';

/** What to do about a port that is taken, by the flag that sets it. */
export const addressInUseHint = (
  error: unknown,
  ports: { api: number; dynamodb?: number; kinesis?: number },
): string | undefined => {
  const { code, port: taken } = error as NodeJS.ErrnoException & { port?: number };
  if (code !== 'EADDRINUSE') return undefined;
  const flag =
    taken === ports.dynamodb ? '--dynamodb-port' : taken === ports.kinesis ? '--kinesis-port' : '--port';
  const example = flag === '--port' ? `npm start -- --port ${ports.api + 1}` : `npm start -- ${flag} 0`;
  return (
    `Port ${taken ?? ''} is already in use (another npm start?). Stop what holds it, or pick ` +
    `another port with ${flag}, e.g. ${example}`
  );
};

const main = async (): Promise<void> => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      'dynamodb-port': { type: 'string' },
      'kinesis-port': { type: 'string' },
      'cors-origins': { type: 'string' },
      'front-door': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }

  const verbose = values.verbose;
  const frontDoor = values['front-door'] ?? 'httpApi';
  if (!(FRONT_DOORS as readonly string[]).includes(frontDoor)) {
    throw new Error(
      `--front-door must be one of ${FRONT_DOORS.join(', ')}, got ${JSON.stringify(frontDoor)}`,
    );
  }
  const ports = {
    api: port(values.port, '--port', 3000),
    ...(values['dynamodb-port'] ? { dynamodb: port(values['dynamodb-port'], '--dynamodb-port', 0) } : {}),
    ...(values['kinesis-port'] ? { kinesis: port(values['kinesis-port'], '--kinesis-port', 0) } : {}),
  };
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      port: ports.api,
      host: values.host ?? '127.0.0.1',
      ...(values.data ? { dataDir: values.data } : {}),
      ...(ports.dynamodb !== undefined ? { dynamodbPort: ports.dynamodb } : {}),
      ...(ports.kinesis !== undefined ? { kinesisPort: ports.kinesis } : {}),
      ...(values['cors-origins'] ? { corsOrigins: parseCorsOrigins(values['cors-origins']) } : {}),
      logRequests: verbose,
      frontDoor: frontDoor as FrontDoor,
      console: true,
      ...(process.env[LOG_LEVEL_VAR] ? {} : { env: { [LOG_LEVEL_VAR]: verbose ? 'INFO' : 'WARN' } }),
    });
  } catch (error) {
    const hint = addressInUseHint(error, ports);
    throw hint ? new Error(hint, { cause: error }) : error;
  }
  const running = stack;
  writeRunningStack({
    url: displayUrl(running.url),
    keyDir: running.keyDir,
    ...(running.dataDir ? { dataDir: running.dataDir } : {}),
  });
  // However the process ends, the file must not send token and demo to a stack that is gone.
  process.on('exit', () => removeRunningStack());

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`\n${signal} again: exiting without a clean stop`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    removeRunningStack();
    running.close().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (err) => {
        console.error('Did not stop cleanly:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  console.log(banner(running, await extraLines(running), verbose));
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    // The cause of a hint is the error it explains: its message is already in the hint.
    if (err instanceof Error && err.cause && (err.cause as NodeJS.ErrnoException).code !== 'EADDRINUSE')
      console.error(err.cause);
    process.exit(1);
  });
}
