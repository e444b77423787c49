import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { RouteDef } from '../../lib/routes';
import type { Source } from '../core/sources';

export type Role = 'analyst' | 'admin';

/** Who is calling: a source (write key), a person with roles (JWT), or nobody (public routes). */
export type Principal =
  | { kind: 'source'; source: Source }
  | { kind: 'user'; subject: string; roles: ReadonlySet<Role> }
  | { kind: 'anonymous' };

/** What the shared middlewares have established by the time a handler runs. */
export interface HttpRequest {
  event: APIGatewayProxyEventV2;
  context: Context;
  route: Pick<RouteDef, 'id' | 'method' | 'path' | 'auth'> & { segment?: boolean };
  principal: Principal;
  /** The decoded, parsed JSON body; undefined when the request had none. */
  body: unknown;
  /** Size of the decoded body in bytes (0 without one). */
  bodyBytes: number;
  /** Server receipt time: the base of clock-skew correction. */
  receivedAt: Date;
  requestId: string;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON (the docs page, its script), sent as is; `headers` give its type. */
  text?: string;
}

export type HttpResult = APIGatewayProxyStructuredResultV2;
