/**
 * The quarantine against dynalite: a record is found and erased through any id it names, records
 * naming no id sit where no id reaches, and oversize payloads are kept cut, with a digest.
 */
import { createHash } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_PAYLOAD_BYTES,
  type QuarantinedRecord,
  QuarantineRepository,
  quarantinePk,
  UNKNOWN_PARTITION,
} from '../../functions/adapters/quarantine-repository';
import { type Emulators, startEmulators } from '../../lib/local/emulators';

let emulators: Emulators;
let db: DynamoDBDocumentClient;
let table: string;
let repo: QuarantineRepository;
let n = 0;
const receivedAt = new Date().toISOString();

beforeAll(async () => {
  emulators = await startEmulators({ env: {} });
  db = DynamoDBDocumentClient.from(emulators.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  table = emulators.names.tables.quarantine;
  repo = new QuarantineRepository(db, table);
});
afterAll(() => emulators.close());

const record = (personKeys: string[], payload = '{"type":"identify"}'): QuarantinedRecord => ({
  personKeys,
  reason: 'validation_failed: userId Required',
  origin: 'segment:batch',
  position: `m:msg-${++n}`,
  payload,
  receivedAt,
});
const everything = async () => (await db.send(new ScanCommand({ TableName: table }))).Items ?? [];
const mentioning = async (text: string) =>
  (await everything()).filter((i) => JSON.stringify(i).includes(text));

describe('quarantine keying', () => {
  it('finds a record under every id it names, and erasing any one of them removes every copy', async () => {
    const r = record(['victim-anon', 'attacker-user', 'old-prev'], '{"secret":"victim-data-1"}');
    await repo.put(r);
    for (const id of ['victim-anon', 'attacker-user', 'old-prev'])
      expect((await repo.exportPeople([id])).map((i) => i.payload)).toEqual([r.payload]);

    expect(await repo.erasePeople(['victim-anon'])).toBe(1);
    expect(await mentioning('victim-data-1')).toEqual([]);
    expect(await mentioning('victim-anon')).toEqual([]);
    expect(await repo.exportPeople(['attacker-user', 'old-prev'])).toEqual([]);
  });

  it('keeps records naming no usable id where no id reaches, the real id "-" included', async () => {
    const r = record([], '{"secret":"unknown-data"}');
    const tooLong = record(['x'.repeat(300)], '{"secret":"long-id-data"}');
    await repo.put(r);
    await repo.put(tooLong);
    for (const id of ['-', '!unknown', 'unknown', '', 'q!unknown'])
      expect(await repo.exportPeople([id]), id).toEqual([]);
    await repo.erasePeople(['-', '!unknown', 'unknown', '', 'q!unknown']);
    expect(await mentioning('unknown-data')).toHaveLength(1); // the entry
    expect(await mentioning('long-id-data')).toHaveLength(1);
    const index = (await everything()).filter((i) => i.pk === UNKNOWN_PARTITION);
    expect(index.map((i) => i.position)).toEqual(expect.arrayContaining([r.position, tooLong.position]));
    expect((await everything()).some((i) => i.pk === quarantinePk('-'))).toBe(false);
  });

  it('is idempotent: a redelivered record is the same items', async () => {
    const r = record(['redelivered-user', 'redelivered-anon']);
    await repo.put(r);
    const before = (await everything()).length;
    await repo.put(r);
    expect((await everything()).length).toBe(before);
    expect(await repo.erasePeople(['redelivered-anon', 'redelivered-user'])).toBe(1);
    expect(await mentioning('redelivered')).toEqual([]);
  });

  it('still finds and erases items written before entries (payload inline under the first id)', async () => {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: quarantinePk('legacy-user'),
          sk: 'segment:batch#m:old',
          payload: '{"old":true}',
          receivedAt,
        },
      }),
    );
    expect(await repo.exportPeople(['legacy-user'])).toMatchObject([{ payload: '{"old":true}' }]);
    expect(await repo.erasePeople(['legacy-user'])).toBe(1);
    expect(await mentioning('legacy-user')).toEqual([]);
  });
});

describe('oversize payloads', () => {
  it('are cut below the item limit, with the size and SHA-256 of the whole', async () => {
    const whole = JSON.stringify({ userId: 'big-user', properties: { blob: 'é'.repeat(225_000) } }); // ≈ 450 KB
    expect(Buffer.byteLength(whole)).toBeGreaterThan(400 * 1024);
    await repo.put(record(['big-user'], whole));
    const [entry] = await repo.exportPeople(['big-user']);
    expect(entry).toMatchObject({
      truncated: true,
      payloadBytes: Buffer.byteLength(whole),
      payloadSha256: createHash('sha256').update(whole).digest('hex'),
    });
    const kept = entry?.payload as string;
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(MAX_PAYLOAD_BYTES - 4);
    expect(whole.startsWith(kept)).toBe(true); // cut on a character boundary
  });

  it('are kept whole when they fit, and say so', async () => {
    const r = record(['small-user'], '{"a":1}');
    await repo.put(r);
    expect(await repo.exportPeople(['small-user'])).toMatchObject([
      { payload: '{"a":1}', truncated: false, payloadBytes: 7 },
    ]);
  });
});
