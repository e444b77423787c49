/**
 * What a user agent string says, kept as parsed fields only: device class, OS and browser names
 * (no versions beyond the major, no model), and whether it is a bot. The raw string is never
 * kept. Parsing is `ua-parser-js` 1.x (MIT; 2.x is AGPL), bot detection `isbot`. Pure.
 *
 * Apps send the same user agent on every request, and parsing costs more than the rest of an
 * event's validation: results are remembered per container (bounded).
 */
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';
import type { DeviceType } from '../events';

export interface UserAgentInfo {
  /** Device class, when the agent says enough to tell it. */
  deviceType?: DeviceType;
  /** OS name (`iOS`, `Windows`, `Android`…). */
  os?: string;
  /** Browser name and major version (`Chrome 120`). */
  browser?: string;
  /** A crawler, monitor, headless browser or HTTP library (isbot's list). */
  bot: boolean;
}

/** Longest user agent parsed: longer strings are cut (parsers are regex lists). */
export const MAX_USER_AGENT = 512;
const NAME_MAX = 64;

const DESKTOP_OS =
  /^(windows|mac os|macos|linux|ubuntu|debian|fedora|chromium os|chrome os|freebsd|openbsd)/i;

/** ua-parser-js device types → Pulse's (console, wearable, embedded: `other`). */
const deviceTypeOf = (type: string | undefined, os: string | undefined): DeviceType | undefined => {
  if (type === 'mobile') return 'mobile';
  if (type === 'tablet') return 'tablet';
  if (type === 'smarttv') return 'tv';
  if (type !== undefined) return 'other';
  // ua-parser-js names no device type for desktops.
  return os !== undefined && DESKTOP_OS.test(os) ? 'desktop' : undefined;
};

const short = (s: string | undefined): string | undefined =>
  s === undefined || s === '' ? undefined : s.slice(0, NAME_MAX);

/**
 * isbot also matches plain HTTP libraries (okhttp, Segment's analytics-kotlin, Node's fetch, curl):
 * in an event API those are the SDKs and servers that send real people's events, not crawlers. A
 * bot is what isbot matches and presents itself as a browser or a crawler.
 */
const BROWSER_OR_CRAWLER =
  /mozilla\/|bot(?![a-z])|crawl|spider|slurp|headless|phantomjs|lighthouse|preview|externalhit|fetcher/i;

export const isBotAgent = (ua: string): boolean => isbot(ua) && BROWSER_OR_CRAWLER.test(ua);

/** Parse one user agent (uncached). */
export const parseUserAgent = (userAgent: string): UserAgentInfo => {
  const ua = userAgent.slice(0, MAX_USER_AGENT);
  const bot = isBotAgent(ua);
  const parsed = UAParser(ua);
  const os = short(parsed.os.name);
  const browserName = short(parsed.browser.name);
  const info: UserAgentInfo = { bot };
  const deviceType = deviceTypeOf(parsed.device.type, os);
  if (deviceType !== undefined) info.deviceType = deviceType;
  if (os !== undefined) info.os = os;
  if (browserName !== undefined)
    info.browser = parsed.browser.major ? `${browserName} ${parsed.browser.major.slice(0, 8)}` : browserName;
  return info;
};

/** A per-container memo of parsed agents: the same few strings arrive again and again. */
export const userAgentCache = (maxEntries = 5_000) => {
  const memo = new Map<string, UserAgentInfo>();
  return (userAgent: string | undefined): UserAgentInfo | undefined => {
    if (userAgent === undefined || userAgent.trim() === '') return undefined;
    const hit = memo.get(userAgent);
    if (hit) return hit;
    const info = parseUserAgent(userAgent);
    if (memo.size >= maxEntries) memo.clear();
    memo.set(userAgent, info);
    return info;
  };
};
