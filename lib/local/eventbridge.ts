/**
 * EventBridge's PutEvents, emulated for the local stack: the AWS JSON 1.1 protocol (`POST /`,
 * `X-Amz-Target: AWSEvents.PutEvents`) as the SDK speaks it, with PutEvents' limits answered as AWS
 * answers them — more than 10 entries, or entries totalling 256 KB or more (EventBridge's own size
 * count, functions/core/destinations/eventbridge.ts entrySize), is a 400 ValidationException for the
 * whole request; a bad entry fails alone in a 200 with FailedEntryCount (InvalidArgument,
 * MalformedDetail, NotAuthorizedForSourceException for `aws.` sources).
 *
 * Each accepted entry is appended, as the event a rule's target would receive (`version`, `id`,
 * `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`), to
 * `<dir>/<bus name>.ndjson`: point a destination at any bus name and read what it received there.
 * Like AWS, a bus nobody created still accepts events.
 *
 * Tests make it answer as AWS does under load or in trouble: `failNext` queues the answer of the
 * next request (a whole-request error, or per-entry error codes for a partial failure).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { entrySize, PUT_EVENTS_LIMITS } from '../../functions/core/destinations/eventbridge';
import { busNameOf } from '../event-buses';
import { listenLocal } from './listen';

export interface LocalEventBridgeOptions {
  /** Where each bus's file is written. */
  readonly dir: string;
  readonly region: string;
  readonly account: string;
  readonly host?: string;
  readonly port?: number;
}

/** What the next request is answered with instead of being accepted whole. */
export type InjectedAnswer =
  | { readonly status: number; readonly type: string; readonly message?: string }
  /** Per entry index: the ErrorCode that entry fails with (the others are accepted). */
  | { readonly entries: Readonly<Record<number, string>> };

/** An event as a bus delivers it to a rule's target. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface LocalEventBridge {
  readonly url: string;
  readonly dir: string;
  /** The file a bus's events are appended to. */
  fileOf(bus: string): string;
  /** The events a bus has received, in order. */
  events(bus: string): BusEvent[];
  failNext(answer: InjectedAnswer): void;
  close(): Promise<void>;
}

interface Entry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
  Resources?: unknown;
}

const JSON_11 = 'application/x-amz-json-1.1';

const reply = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify(body));
};
const error = (res: ServerResponse, status: number, type: string, message: string) =>
  reply(res, status, { __type: type, message });

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** An entry's documented failure, or undefined when the bus takes it. */
const entryError = (e: Entry): { code: string; message: string } | undefined => {
  const source = str(e.Source);
  const detailType = str(e.DetailType);
  const detail = str(e.Detail);
  if (!source || !detailType || detail === undefined)
    return { code: 'InvalidArgument', message: 'Parameters Source, DetailType and Detail are required.' };
  if (source.startsWith('aws.'))
    return { code: 'NotAuthorizedForSourceException', message: `Not authorized for the source ${source}.` };
  try {
    const parsed = JSON.parse(detail) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
  } catch {
    return { code: 'MalformedDetail', message: 'Detail is malformed.' };
  }
  return undefined;
};

/** `Time` as the SDK sends it (epoch seconds), or now; EventBridge's `time` has second precision. */
const eventTime = (t: unknown): string => {
  const ms = typeof t === 'number' ? t * 1000 : typeof t === 'string' ? Date.parse(t) : Date.now();
  return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** A bus name as a file name: what the name allows besides letters, digits, `.`, `-`, `_` becomes `_`. */
const fileName = (bus: string) => `${bus.replace(/[^A-Za-z0-9._-]/g, '_')}.ndjson`;

export const startLocalEventBridge = async (options: LocalEventBridgeOptions): Promise<LocalEventBridge> => {
  mkdirSync(options.dir, { recursive: true });
  const injected: InjectedAnswer[] = [];
  const fileOf = (bus: string) => join(options.dir, fileName(busNameOf(bus)));

  const putEvents = (res: ServerResponse, input: { Entries?: unknown }) => {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0)
      return error(
        res,
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    if (entries.length > PUT_EVENTS_LIMITS.entries)
      return error(
        res,
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_LIMITS.entries}`,
      );
    const total = (entries as Entry[]).reduce(
      (n, e) =>
        n +
        entrySize({
          Source: str(e.Source) ?? '',
          DetailType: str(e.DetailType) ?? '',
          Detail: str(e.Detail) ?? '',
          EventBusName: '',
          ...(e.Time !== undefined && { Time: '' }),
          ...(Array.isArray(e.Resources) && { Resources: e.Resources.map(String) }),
        }),
      0,
    );
    if (total >= PUT_EVENTS_LIMITS.bytes)
      return error(
        res,
        400,
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    const inject = injected.shift();
    if (inject && 'status' in inject)
      return error(res, inject.status, inject.type, inject.message ?? inject.type);
    const results = (entries as Entry[]).map((e, i) => {
      const forced = inject?.entries[i];
      const failed = forced ? { code: forced, message: `${forced} (injected)` } : entryError(e);
      if (failed) return { ErrorCode: failed.code, ErrorMessage: failed.message };
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': e.DetailType as string,
        source: e.Source as string,
        account: options.account,
        time: eventTime(e.Time),
        region: options.region,
        resources: Array.isArray(e.Resources) ? e.Resources.map(String) : [],
        detail: JSON.parse(e.Detail as string),
      };
      appendFileSync(fileOf(str(e.EventBusName) || 'default'), `${JSON.stringify(event)}\n`);
      return { EventId: event.id };
    });
    reply(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    if (req.method !== 'POST') return error(res, 404, 'UnknownOperationException', 'Not found');
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target !== 'AWSEvents.PutEvents')
      return error(
        res,
        400,
        'UnknownOperationException',
        `The local EventBridge serves PutEvents only, not ${target}`,
      );
    let input: { Entries?: unknown };
    try {
      input = JSON.parse(body) as { Entries?: unknown };
    } catch {
      return error(res, 400, 'SerializationException', 'Request body is not JSON');
    }
    putEvents(res, input);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) error(res, 500, 'InternalException', e.message);
      else res.destroy();
    });
  });
  const listening = await listenLocal(server, options);
  return {
    url: listening.url,
    dir: options.dir,
    fileOf,
    events: (bus) => {
      try {
        return readFileSync(fileOf(bus), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as BusEvent);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    failNext: (answer) => {
      injected.push(answer);
    },
    close: listening.close,
  };
};
