import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3ObjectStore } from '../../functions/adapters/object-store';

/** S3's answers to ranged GETs and HEADs of one object, as the SDK surfaces them. */
const s3Holding = (object: Buffer | undefined) => {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const fail = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      sent.push({ name, input: command.input });
      if (!object) throw fail('NoSuchKey', 404);
      if (name === 'HeadObjectCommand') return { ContentLength: object.length };
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(command.input.Range ?? 'bytes=0-'));
      const from = Number(range?.[1]);
      const to = range?.[2] ? Number(range[2]) + 1 : object.length;
      if (from >= object.length) throw fail('InvalidRange', 416);
      const body = object.subarray(from, Math.min(to, object.length));
      return {
        Body: Readable.from([body.subarray(0, 3), body.subarray(3)]),
        ContentLength: body.length,
        ContentRange:
          command.input.Range === undefined
            ? undefined
            : `bytes ${from}-${from + body.length - 1}/${object.length}`,
      };
    },
  };
  return { client: client as unknown as S3Client, sent };
};

const drain = async (body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts).toString();
};

describe('S3 ranged reads', () => {
  it('asks for the range, streams it, and knows the whole size', async () => {
    const { client, sent } = s3Holding(Buffer.from('id,plan\nu1,pro\nu2,team\n'));
    const store = s3ObjectStore('b', client);
    const whole = await store.read('k');
    expect(whole?.size).toBe(23);
    expect(await drain(whole?.body ?? [])).toBe('id,plan\nu1,pro\nu2,team\n');
    const tail = await store.read('k', { from: 15 });
    expect(tail?.size).toBe(23);
    expect(await drain(tail?.body ?? [])).toBe('u2,team\n');
    const head = await store.read('k', { to: 8 });
    expect(await drain(head?.body ?? [])).toBe('id,plan\n');
    expect(sent.map((s) => s.input.Range)).toEqual([undefined, 'bytes=15-', 'bytes=0-7']);
  });

  it('answers nothing left at the end, and undefined for a missing object', async () => {
    const { client } = s3Holding(Buffer.from('abc'));
    const end = await s3ObjectStore('b', client).read('k', { from: 3 });
    expect(end?.size).toBe(3);
    expect(await drain(end?.body ?? [])).toBe('');
    expect(await s3ObjectStore('b', s3Holding(undefined).client).read('k', { from: 3 })).toBeUndefined();
  });
});
