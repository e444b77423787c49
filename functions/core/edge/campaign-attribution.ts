/**
 * Campaign attribution from where a visit came from: the `utm_*` parameters of a page URL, or
 * Segment's `context.campaign` (which analytics.js fills from those same parameters). Applied
 * only when the event names no campaign itself. The mapping from parameters to Pulse's fields
 * is data (`DEFAULT_UTM_MAPPING`), documented in docs/data-quality.md and replaceable per
 * deployment (`pulse:utmMapping`). Pure.
 */
import { FIELD_LIMITS, PRINTABLE } from '../events';

/** What attribution sets: the campaign id and where the visit came from. */
export interface Attribution {
  campaignId?: string;
  source?: string;
  medium?: string;
  content?: string;
  term?: string;
}

export type AttributionField = keyof Attribution;
export const ATTRIBUTION_FIELDS: readonly AttributionField[] = [
  'campaignId',
  'source',
  'medium',
  'content',
  'term',
];

/**
 * Attribution field → the URL parameters (first present wins) and Segment `context.campaign`
 * keys that supply it. `utm_id` before `utm_campaign`: GA4's campaign id is the stabler key.
 */
export interface UtmMapping {
  readonly url: Readonly<Record<AttributionField, readonly string[]>>;
  readonly segment: Readonly<Record<AttributionField, readonly string[]>>;
}

export const DEFAULT_UTM_MAPPING: UtmMapping = {
  url: {
    campaignId: ['utm_campaign', 'utm_id'],
    source: ['utm_source'],
    medium: ['utm_medium'],
    content: ['utm_content'],
    term: ['utm_term'],
  },
  segment: {
    campaignId: ['name', 'id'],
    source: ['source'],
    medium: ['medium'],
    content: ['content'],
    term: ['term'],
  },
};

/** Longest source, medium, content or term kept. */
export const ATTRIBUTION_VALUE_MAX = 128;

const clean = (v: unknown, max: number): string | undefined => {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s.length > 0 && s.length <= max && PRINTABLE.test(s) ? s : undefined;
};

const maxOf = (field: AttributionField) =>
  field === 'campaignId' ? FIELD_LIMITS.campaignId : ATTRIBUTION_VALUE_MAX;

const pick = (
  read: (key: string) => unknown,
  keys: Readonly<Record<AttributionField, readonly string[]>>,
): Attribution | undefined => {
  const out: Attribution = {};
  let any = false;
  for (const field of ATTRIBUTION_FIELDS)
    for (const key of keys[field]) {
      const v = clean(read(key), maxOf(field));
      if (v !== undefined) {
        out[field] = v;
        any = true;
        break;
      }
    }
  return any ? out : undefined;
};

/** `utm_*` of a URL (absolute, or just its query); undefined when it carries none or is not a URL. */
export const attributionFromUrl = (
  url: unknown,
  mapping: UtmMapping = DEFAULT_UTM_MAPPING,
): Attribution | undefined => {
  if (typeof url !== 'string' || url.length > 8192) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const hash = url.indexOf('#', q);
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(url.slice(q + 1, hash < 0 ? undefined : hash));
  } catch {
    return undefined;
  }
  return pick((k) => params.get(k) ?? undefined, mapping.url);
};

/** Segment's `context.campaign` object. */
export const attributionFromSegment = (
  campaign: unknown,
  mapping: UtmMapping = DEFAULT_UTM_MAPPING,
): Attribution | undefined => {
  if (campaign === null || typeof campaign !== 'object' || Array.isArray(campaign)) return undefined;
  const c = campaign as Record<string, unknown>;
  return pick((k) => (Object.hasOwn(c, k) ? c[k] : undefined), mapping.segment);
};

/**
 * A mapping from its JSON form (`pulse:utmMapping`): any field left out keeps its default
 * parameters. Throws, naming the field, on anything else than lists of parameter names.
 */
export const parseUtmMapping = (json: string | undefined): UtmMapping => {
  if (json === undefined || json.trim() === '') return DEFAULT_UTM_MAPPING;
  const raw: unknown = JSON.parse(json);
  const part = (name: 'url' | 'segment'): Record<AttributionField, readonly string[]> => {
    const given = (raw as Record<string, unknown> | null)?.[name];
    const out = { ...DEFAULT_UTM_MAPPING[name] };
    if (given === undefined) return out;
    if (given === null || typeof given !== 'object' || Array.isArray(given))
      throw new Error(`utmMapping.${name} must be an object of field → parameter names`);
    for (const [field, keys] of Object.entries(given)) {
      if (!(ATTRIBUTION_FIELDS as readonly string[]).includes(field))
        throw new Error(`utmMapping.${name}.${field} is not one of ${ATTRIBUTION_FIELDS.join(', ')}`);
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.length > 0))
        throw new Error(`utmMapping.${name}.${field} must be a list of parameter names`);
      out[field as AttributionField] = keys;
    }
    return out;
  };
  return { url: part('url'), segment: part('segment') };
};
