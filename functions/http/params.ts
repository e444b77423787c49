/** Path parameters that name a person: a user id or an anonymous id, ≤ 256 characters. */
import { Problem } from '../core/problem';
import type { HttpRequest } from './types';

export const subjectParam = (request: HttpRequest, name: string): string => {
  const value = request.event.pathParameters?.[name];
  if (!value || value.length > 256)
    throw new Problem(400, 'validation_failed', `Invalid ${name}`, [
      { path: name, message: 'Expected 1..256 characters' },
    ]);
  return value;
};
