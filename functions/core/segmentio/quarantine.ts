/**
 * A rejected Segment message as the quarantine keeps it: whom it is about (so erasure finds
 * it), what is stored of it, where its entry sits, and why it was refused. Pure.
 */
import { derivedEventId } from '../envelope';
import type { Rejection } from '../ingest';
import { jsonHazard } from '../json';
import { ID_MAX, idOf, isPlainObject } from './message-fields';
import { SEGMENT_LIMITS } from './protocol';

/** Every person a rejected message names (user, anonymous, previous id): erasure of any finds it. */
export const personKeysOfMessage = (raw: unknown): string[] => {
  if (!isPlainObject(raw)) return [];
  return [raw.userId, raw.anonymousId, raw.previousId].flatMap((v) => {
    const s = idOf(v);
    return s !== undefined && s.length <= ID_MAX ? [s] : [];
  });
};

/**
 * A message nested past Segment's depth limit cannot be serialised safely (the stack overflows
 * at a few thousand levels): its entry keeps this placeholder, and the reason says why.
 */
const DEEP_PLACEHOLDER = { notKept: `nested deeper than ${SEGMENT_LIMITS.messageDepth} levels` };
const tooDeep = (raw: unknown): boolean =>
  jsonHazard(raw, {
    maxDepth: SEGMENT_LIMITS.messageDepth,
    maxKeys: Number.MAX_SAFE_INTEGER,
    maxStringLength: Number.MAX_SAFE_INTEGER,
  }) !== undefined;

/**
 * A rejected message as the quarantine keeps it: without what Pulse never stores (the IP
 * address, traits) and without the consent token (a bearer credential).
 */
export const quarantinePayload = (raw: unknown): string => {
  if (tooDeep(raw)) return JSON.stringify(DEEP_PLACEHOLDER);
  if (!isPlainObject(raw)) return JSON.stringify(raw) ?? 'null';
  const { traits: _traits, writeKey: _writeKey, ...rest } = raw;
  if (isPlainObject(rest.context)) {
    const { ip: _ip, consent, ...context } = rest.context;
    if (isPlainObject(consent)) {
      const { token: _token, ...keptConsent } = consent;
      rest.context = { ...context, consent: keptConsent };
    } else rest.context = consent === undefined ? context : { ...context, consent };
  }
  return JSON.stringify(rest);
};

/** Where a rejected message's quarantine entry sits: the same message (a retry) is one entry. */
export const quarantinePosition = (raw: unknown, sourceId: string): string =>
  isPlainObject(raw) && typeof raw.messageId === 'string' && raw.messageId.length <= 200
    ? `m:${raw.messageId}`
    : `h:${derivedEventId(sourceId, tooDeep(raw) ? DEEP_PLACEHOLDER : raw)}`;

export const rejectionReason = (r: Rejection): string =>
  `${r.code}: ${r.errors.map((e) => `${e.path || '(message)'} ${e.message}`).join('; ')}`.slice(0, 1000);
