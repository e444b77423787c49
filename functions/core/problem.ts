/**
 * Problem details (RFC 9457) as Pulse answers them (docs/api.md, Errors): a stable machine `code`, and for
 * validation errors the offending field's dotted `path`. Pure: no AWS, no HTTP framework.
 */

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export const PROBLEM_TITLES = {
  validation_failed: 'Validation failed',
  invalid_json: 'Malformed JSON',
  invalid_encoding: 'Body is not valid UTF-8 or gzip',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  rate_limited: 'Too many requests',
  stream_unavailable: 'Event stream unavailable',
  consent_required: 'Consent required',
  consent_invalid: 'Consent invalid',
  internal_error: 'Internal error',
} as const;

export type ProblemCode = keyof typeof PROBLEM_TITLES;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Extra members (e.g. `limit`) and response headers (e.g. Retry-After). */
    readonly extra: { members?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? PROBLEM_TITLES[code]);
    this.name = 'Problem';
  }

  toBody(): ProblemBody {
    return {
      type: `https://pulse.dev/problems/${this.code.replaceAll('_', '-')}`,
      title: PROBLEM_TITLES[this.code],
      status: this.status,
      code: this.code,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.errors?.length ? { errors: this.errors } : {}),
      ...this.extra.members,
    };
  }
}

export const validationProblem = (errors: FieldError[], detail?: string): Problem =>
  new Problem(400, 'validation_failed', detail, errors);

export const tooLarge = (limit: string, maxBytes: number, path?: string): Problem =>
  new Problem(
    413,
    'payload_too_large',
    `${limit} exceeds ${maxBytes} bytes`,
    path === undefined ? undefined : [{ path, message: `exceeds ${maxBytes} bytes` }],
    { members: { limit, maxBytes } },
  );

/**
 * A batch's count against its limit, the same at every door: a 400 naming `path` when it is
 * empty, a 413 naming the limit (`{limit: 'batch', max<Noun>s}`) when it holds too many.
 */
export const batchCountProblem = (
  count: number,
  max: number,
  path: string,
  noun: 'event' | 'message',
): Problem | undefined => {
  if (count === 0)
    return new Problem(400, 'validation_failed', 'The batch is empty', [
      { path, message: `At least 1 ${noun}` },
    ]);
  if (count <= max) return undefined;
  const maxKey = noun === 'event' ? 'maxEvents' : 'maxMessages';
  return new Problem(
    413,
    'payload_too_large',
    `A batch holds at most ${max} ${noun}s`,
    [{ path, message: `At most ${max} ${noun}s` }],
    { members: { limit: 'batch', [maxKey]: max } },
  );
};

/** `['events', 3, 'userId']` → `events.3.userId`, the path form every error uses. */
export const dottedPath = (path: readonly PropertyKey[]): string => path.map(String).join('.');
