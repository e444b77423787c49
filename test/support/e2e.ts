/** One local stack per e2e test file: random ports, a temp key dir, a source, and tokens. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kinesisClient } from '../../lib/local/emulators';
import {
  type EventSourceMappingEmulator,
  startEventSourceMappings,
} from '../../lib/local/event-source-mapping';
import { mintToken } from '../../lib/local/keys';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lib/local/stack';

export interface E2E {
  stack: LocalStack;
  url: string;
  admin: string;
  analyst: string;
  writeKey: string;
  sourceId: string;
  call: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>;
  /**
   * For a stack started without consumers (`consumers: []`): start the stream consumer now, so
   * what the stream holds is "in flight" until then. Idempotent; close() stops it.
   */
  startConsumer: () => Promise<EventSourceMappingEmulator>;
  /** Start the consumer (if not yet) and wait until it has caught up with the stream. */
  drained: () => Promise<void>;
  /** A consent token for a subject (analytics and personalization granted unless told otherwise). */
  consent: (subject: string, purposes?: Record<string, boolean>) => Promise<string>;
  close: () => Promise<void>;
}

/** Poll until `check` passes or the deadline: never a fixed sleep. */
export const eventually = async <T>(
  check: () => Promise<T>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
};

export const startE2E = async (options: LocalStackOptions = {}): Promise<E2E> => {
  const keyDir = mkdtempSync(join(tmpdir(), 'pulse-e2e-keys-'));
  const quiet = { info: () => {}, warn: () => {}, error: console.error };
  const stack = await startLocalStack({ port: 0, keyDir, logger: quiet, ...options });
  const admin = await mintToken(stack.keys, { role: 'admin', subject: 'e2e-admin' });
  const analyst = await mintToken(stack.keys, { role: 'analyst', subject: 'e2e-analyst' });
  const call = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    return fetch(`${stack.url}${path}`, {
      ...rest,
      headers: {
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        ...(rest.headers ?? {}),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
  };
  const created = await call('/api/sources', {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}` },
    json: { name: 'e2e', channel: 'web', kind: 'server' },
  });
  if (created.status !== 201)
    throw new Error(`creating the e2e source: ${created.status} ${await created.text()}`);
  const source = (await created.json()) as { writeKey: string; sourceId: string };
  const consent = async (
    subject: string,
    purposes: Record<string, boolean> = { analytics: true, personalization: true },
  ) => {
    const res = await call(`/api/users/${encodeURIComponent(subject)}/consent`, {
      method: 'PUT',
      headers: { 'x-api-key': source.writeKey },
      json: { purposes, policyVersion: 'test-1', source: 'e2e' },
    });
    if (res.status !== 200) throw new Error(`consent for ${subject}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { consentToken: string }).consentToken;
  };
  let esm: EventSourceMappingEmulator | undefined;
  const startConsumer = async () => {
    esm ??= await startEventSourceMappings({
      kinesis: kinesisClient(stack.endpoints.kinesis, 'us-east-1'),
      streamName: stack.names.stream,
      failureDir: stack.failureDir,
      onFailureWritten: stack.onFailureWritten,
      logger: quiet,
    });
    return esm;
  };
  return {
    stack,
    url: stack.url,
    consent,
    startConsumer,
    drained: async () => (await startConsumer()).idle({ timeoutMs: 20_000 }),
    admin,
    analyst,
    writeKey: source.writeKey,
    sourceId: source.sourceId,
    call,
    close: async () => {
      await esm?.stop();
      await stack.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
};

/** A response body for assertions: tests inspect it freely and let `expect` do the checking. */
// biome-ignore lint/suspicious/noExplicitAny: assertion-side JSON, checked by expect()
export const json = async (res: Response): Promise<any> => res.json();
