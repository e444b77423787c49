import { describe, expect, it } from 'vitest';
import { resolveRoute } from '../../lib/routes';

describe('route matching (shared by the local gateway and the $default function)', () => {
  it('prefers static segments, decodes parameters, and lists the methods a path has', () => {
    expect(resolveRoute('POST', '/api/engagement/events')).toMatchObject({
      route: { id: 'trackBatch' },
      params: {},
    });
    expect(resolveRoute('POST', '/api/engagement/video-play')).toMatchObject({
      route: { id: 'trackOne' },
      params: { type: 'video-play' },
    });
    expect(resolveRoute('GET', '/api/segments/rules')).toMatchObject({ route: { id: 'listRules' } });
    expect(resolveRoute('GET', '/api/users/anon%20id/consent')).toMatchObject({
      route: { id: 'getConsent' },
      params: { userId: 'anon id' },
    });
    expect(resolveRoute('DELETE', '/api/engagement/click')).toEqual({ allowed: ['POST'] });
    expect(resolveRoute('GET', '/api/nothing-here')).toEqual({ allowed: [] });
    expect(resolveRoute('GET', '/api/users/')).toEqual({ allowed: [] });
  });
});
