/**
 * `npm start`: the whole backend on this machine — emulators, tables, stream, the API on
 * http://localhost:3000 and the stream consumers — with the same handler code as in AWS.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { documentClient } from '../functions/adapters/aws';
import { SourcesRepository } from '../functions/adapters/sources-repository';
import { DEFAULT_RATE_LIMIT } from '../functions/core/sources';
import { parseCorsOrigins } from '../lib/cors';
import { type LocalStack, startLocalStack } from '../lib/local/stack';

const USAGE = `Usage: npm start -- [options]

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
  -h, --help          show this help

AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_KINESIS point it at running services instead of
starting its own emulators. Ctrl-C stops it.`;

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
  const data = stack.dataDir ? ` --data ${stack.dataDir}` : '';
  return [
    `Write key      ${writeKey}   (source "${source.name}", ${source.kind}, ${source.channel})`,
    `Tokens         npm run -s token -- --role analyst${data}     (or --role admin)`,
    '',
    'Record consent (events need a consent token granting analytics), then send an event:',
    `  TOKEN=$(curl -s -X PUT ${api}/api/users/user-1/consent -H 'content-type: application/json' -H 'x-api-key: ${writeKey}' \\`,
    `    -d '{"purposes":{"analytics":true},"policyVersion":"2026-01"}' | sed -E 's/.*"consentToken":"([^"]+)".*/\\1/')`,
    `  curl -i -X POST ${api}/api/engagement/click -H 'content-type: application/json' -H 'x-api-key: ${writeKey}' \\`,
    `    -H "x-consent-token: $TOKEN" \\`,
    `    -d '{"userId":"user-1","campaignId":"spring-sale","elementId":"cta","deviceType":"mobile","timestamp":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'"}'`,
    'See it counted:',
    `  curl -H "authorization: Bearer $(npm run -s token -- --role analyst${data})" ${api}/api/metrics/campaigns/spring-sale`,
  ];
};

/**
 * The local dev source and its write key. Keys are stored only as hashes, so with --data the
 * key is kept in a file beside the data (reused while its source lives); in memory, a fresh one.
 */
const devSource = async (stack: LocalStack) => {
  const repository = new SourcesRepository(documentClient(), stack.names.tables.sources);
  const keyFile = stack.dataDir ? join(stack.dataDir, 'dev-write-key') : undefined;
  if (keyFile && existsSync(keyFile)) {
    const writeKey = readFileSync(keyFile, 'utf8').trim();
    const source = await repository.findByWriteKey(writeKey);
    if (source) return { writeKey, source };
  }
  const created = await repository.create({
    name: 'local dev',
    channel: 'web',
    kind: 'client',
    rateLimit: DEFAULT_RATE_LIMIT,
  });
  if (keyFile) writeFileSync(keyFile, `${created.writeKey}\n`, { mode: 0o600 });
  return created;
};

/** The banner: where everything listens, plus `extra` lines (see extraLines). */
export const banner = (stack: LocalStack, extra: readonly string[] = []): string => {
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
    `  DynamoDB       ${stack.endpoints.dynamodb}${mark(stack.external.dynamodb)}`,
    `  Kinesis        ${stack.endpoints.kinesis}${mark(stack.external.kinesis)}`,
    `  Stream         ${stack.names.stream}`,
    '  Tables',
    ...tables,
    `  Failed batches ${stack.failureDir}`,
    `  Data           ${stack.dataDir ?? 'in memory (use --data DIR to keep it)'}`,
    '',
    `  Try: curl ${api}/api/health`,
    `       aws dynamodb scan --table-name ${anyTable} --endpoint-url ${stack.endpoints.dynamodb} --region ${stack.env.AWS_REGION}`,
    ...(extra.length ? ['', ...extra.map((l) => `  ${l}`)] : []),
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n');
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
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }

  const stack = await startLocalStack({
    port: port(values.port, '--port', 3000),
    host: values.host ?? '127.0.0.1',
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values['dynamodb-port'] ? { dynamodbPort: port(values['dynamodb-port'], '--dynamodb-port', 0) } : {}),
    ...(values['kinesis-port'] ? { kinesisPort: port(values['kinesis-port'], '--kinesis-port', 0) } : {}),
    ...(values['cors-origins'] ? { corsOrigins: parseCorsOrigins(values['cors-origins']) } : {}),
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`\n${signal} again: exiting without a clean stop`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    stack.close().then(
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

  console.log(banner(stack, await extraLines(stack)));
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    if (err instanceof Error && err.cause) console.error(err.cause);
    process.exit(1);
  });
}
