import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENV } from '../../lib/config';
import { LOCAL_STAGE, localSettings } from '../../lib/local/stack';

describe('local settings', () => {
  it("are lib/config.ts's defaults, as deployed, on the local stage", () => {
    expect(localSettings(() => undefined)).toEqual({
      stage: LOCAL_STAGE,
      consentMode: DEFAULTS.consentMode,
      consentTtlDays: DEFAULTS.consentTtlDays,
      piiMode: DEFAULTS.piiMode,
      retentionDays: DEFAULTS.retentionDays,
      eventHorizonDays: DEFAULTS.eventHorizonDays,
      failureRetentionDays: DEFAULTS.failureRetentionDays,
      corsOrigins: [],
      identityVerification: DEFAULTS.identityVerification,
      botMode: DEFAULTS.botMode,
      botMaxEventsPerMinute: DEFAULTS.botMaxEventsPerMinute,
      countryMode: DEFAULTS.countryMode,
    });
  });

  it('take each variable over its default, and refuse what the deployed stack would refuse', () => {
    const vars: Record<string, string> = { [ENV.piiMode]: 'hash', [ENV.consentTtlDays]: '7' };
    expect(localSettings((k) => vars[k])).toMatchObject({ piiMode: 'hash', consentTtlDays: 7 });
    expect(() => localSettings((k) => ({ [ENV.piiMode]: 'maybe' })[k])).toThrow(
      `${ENV.piiMode} must be one of reject, hash, off, got "maybe"`,
    );
    expect(() => localSettings((k) => ({ [ENV.retentionDays]: '-1' })[k])).toThrow(ENV.retentionDays);
    expect(localSettings((k) => ({ [ENV.botMaxEventsPerMinute]: '0' })[k]).botMaxEventsPerMinute).toBe(0);
    expect(() => localSettings((k) => ({ [ENV.botMode]: 'maybe' })[k])).toThrow(ENV.botMode);
  });
});
