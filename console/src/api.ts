/**
 * The console's one way to the API: the session's bearer token on every call, problem+json
 * errors turned into `ApiError` (status, code, field errors by path), and the OpenAPI document
 * read once to know which pages exist.
 */
import { session, signOut } from './auth';
import { config } from './config';

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

const url = (path: string) => `${config().apiUrl}${path}`;

export const call = async <T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> => {
  const { json, ...rest } = init;
  const token = session()?.token;
  const res = await fetch(url(path), {
    ...rest,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(rest.headers ?? {}),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  if (res.status === 204) return undefined as T;
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    if (res.status === 401) signOut();
    throw new ApiError(
      res.status,
      String(body.code ?? res.status),
      String(body.detail ?? body.title ?? body.message ?? res.statusText),
      (body.errors as FieldError[] | undefined) ?? [],
    );
  }
  return body as T;
};

export const get = <T>(path: string) => call<T>(path);

/** The CSV of rows (RFC 4180 quoting). */
export const toCsv = (rows: readonly (readonly (string | number | null | undefined)[])[]): string =>
  rows
    .map((r) =>
      r
        .map((v) =>
          v === null || v === undefined
            ? ''
            : /[",\n]/.test(String(v))
              ? `"${String(v).replaceAll('"', '""')}"`
              : String(v),
        )
        .join(','),
    )
    .join('\n');

export const download = (name: string, text: string, type = 'text/csv') => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};

export interface OpenApi {
  paths: Record<string, Record<string, { summary?: string; 'x-example'?: unknown; requestBody?: unknown }>>;
}

let openapi: Promise<OpenApi> | undefined;
/** The API's own description: which routes exist decides which pages the console shows. */
export const apiDocument = (): Promise<OpenApi> => {
  openapi ??= fetch(url('/api/openapi.json')).then((r) => r.json() as Promise<OpenApi>);
  return openapi;
};
export const hasRoute = (doc: OpenApi, method: string, path: string) => Boolean(doc.paths[path]?.[method]);
