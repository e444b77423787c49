/**
 * Operations: what each route of the route table takes and answers, and the code that serves it.
 *
 * A handler module's *contract* (`<module>.contract.ts`, pure: zod schemas only) declares, for
 * every route the module serves, the schemas of its path parameters, query and body and its
 * answers; the OpenAPI document is built from the contracts alone, so the OpenAPI function never
 * loads a handler's AWS clients. The handler module then supplies one `handle` per operation
 * (`httpHandler(module, contract, handlers)`), and the shared wrapper validates the input with
 * the contract before calling it. Both maps are checked by type against lib/routes.ts: a route
 * without an operation, an operation without a route, a path parameter without a schema, or a
 * handler missing for an operation each fail `npm run typecheck`.
 */
import type * as z from 'zod/mini';
import type { HandlerModule, PathParams, RouteOf } from '../../lib/routes';
import type { ResponseDoc } from '../core/response-schemas';
import type { HttpRequest, HttpResponse } from './types';

/** What an operation takes and answers. */
export interface OperationContract {
  /** Path parameters: each one's schema (length, characters) — validated before it reaches a key. */
  params?: Record<string, z.ZodMiniType>;
  /** Query-string parameters: an object schema, one parameter per property. */
  query?: z.ZodMiniObject;
  /** JSON request body. */
  body?: z.ZodMiniType;
  /**
   * `handler`: the body schema documents the body, and the handler validates it itself (its
   * answers differ from a plain 400: a 413 for too many items, per-index rejections, …).
   */
  bodyValidation?: 'handler';
  /** Success answers by status; without them, `200` with any JSON. */
  responses?: Record<number, ResponseDoc>;
  /**
   * Path parameters whose invalid value names nothing (an event type, a link token): 404, as for
   * an unknown resource, rather than 400 — a tampered link must look like no link at all.
   */
  notFoundParams?: readonly string[];
}

type ParamsContract<P extends string> = [P] extends [never]
  ? { params?: undefined }
  : { params: { readonly [K in P]: z.ZodMiniType<string> } };

/** The contract of one route: its path parameters must each have a schema. */
export type RouteContract<R extends { path: string }> = OperationContract &
  ParamsContract<PathParams<R['path']>>;

/** A handler module's contract: exactly one operation per route it serves. */
export type Contract<M extends HandlerModule> = {
  readonly [R in RouteOf<M> as R['id']]: RouteContract<R>;
};

type Infer<S, Fallback> = S extends z.ZodMiniType<infer T> ? T : Fallback;

/** What the wrapper hands an operation's handle: the request and its validated input. */
export interface OperationInput<C extends OperationContract> {
  params: { [K in keyof C['params']]: Infer<C['params'][K], string> };
  query: Infer<C['query'], Record<string, string | undefined>>;
  /** The validated body (or, with `bodyValidation: 'handler'`, the parsed JSON as sent). */
  body: C['bodyValidation'] extends 'handler' ? unknown : Infer<C['body'], unknown>;
}

/** One `handle` per operation of a contract, no more, no fewer. */
export type Handlers<C extends Record<string, OperationContract>> = {
  readonly [K in keyof C]: (request: HttpRequest, input: OperationInput<C[K]>) => Promise<HttpResponse>;
};
