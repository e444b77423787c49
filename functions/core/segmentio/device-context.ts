/**
 * What a Segment message's `context` says about where it came from: the device type and the
 * channel. Pure.
 */
import type { Channel, DeviceType } from '../events';
import { at, textOf } from './message-fields';

/**
 * `context.device.type` → Pulse device type. Segment's mobile SDKs put the platform there
 * (`ios`, `android`): a phone unless the model says tablet. Anything unknown is `other`.
 */
export const deviceTypeOf = (context: unknown): DeviceType => {
  const type = textOf(at(context, 'device', 'type'), 64)?.toLowerCase();
  const model = textOf(at(context, 'device', 'model'), 128)?.toLowerCase() ?? '';
  if (type === undefined) return 'other';
  if (['tablet', 'ipad', 'ipados'].includes(type)) return 'tablet';
  if (['ios', 'android', 'mobile', 'phone', 'smartphone', 'iphone'].includes(type))
    return /ipad|tablet|\btab\b/.test(model) ? 'tablet' : 'mobile';
  if (['desktop', 'computer', 'pc', 'laptop', 'macos', 'mac', 'windows', 'linux'].includes(type))
    return 'desktop';
  if (
    ['tv', 'smarttv', 'smart-tv', 'tvos', 'androidtv', 'android tv', 'firetv', 'roku', 'ctv'].includes(type)
  )
    return 'tv';
  return 'other';
};

const LIBRARY_CHANNELS: readonly [RegExp, Channel][] = [
  [/analytics\.js|analytics-next|javascript|browser|\bweb\b/, 'web'],
  [/android|kotlin/, 'android'],
  [/\bios\b|analytics-ios|swift|rudder-ios/, 'ios'],
  [/node|python|ruby|analytics-go|java|php|\.net|csharp|rust|server|http/, 'server'],
];

/**
 * Channel from `context.os.name` (cross-platform libraries such as React Native say the platform
 * there), else from `context.library.name`; undefined leaves the source's channel.
 */
export const channelOf = (context: unknown): Channel | undefined => {
  const os = textOf(at(context, 'os', 'name'), 64)?.toLowerCase();
  if (os === 'ios' || os === 'ipados' || os === 'iphone os') return 'ios';
  if (os === 'android') return 'android';
  const library = textOf(at(context, 'library', 'name'), 128)?.toLowerCase();
  if (library === undefined) return undefined;
  return LIBRARY_CHANNELS.find(([re]) => re.test(library))?.[1];
};
