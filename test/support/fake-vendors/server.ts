/**
 * A vendor API on a random loopback port, for the destinations tests: each fake implements its
 * vendor's documented contract, and every fake can be told to misbehave (a status with its headers,
 * or no answer at all) for its next requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { status: number; headers?: Record<string, string>; body?: string } | { hang: true };

export interface FakeServer {
  url: string;
  /** Faults for the next requests, in order (each used once). */
  faults: Fault[];
  requests: number;
  close(): Promise<void>;
}

export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export const startFakeServer = async (
  handle: (req: IncomingMessage, body: string) => FakeAnswer | Promise<FakeAnswer>,
): Promise<FakeServer> => {
  const hanging = new Set<ServerResponse>();
  const state: FakeServer = {
    url: '',
    faults: [],
    requests: 0,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      state.requests++;
      const fault = state.faults.shift();
      if (fault && 'hang' in fault) {
        hanging.add(res);
        return;
      }
      const answer = fault ?? (await handle(req, Buffer.concat(chunks).toString('utf8')));
      const body =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
};
