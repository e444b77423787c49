/**
 * What the per-destination alarms read (lib/constructs/observability.ts destinationQuery): the
 * delivery metrics as EMF, with exactly the dimension set the Metrics Insights SCHEMA names —
 * Destination, and Powertools' service and stage — in the stack's namespace.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../lib/config';
import { tables } from '../../lib/tables';

const lines: string[] = [];
let wiring: typeof import('../../functions/destinations/wiring');

beforeAll(async () => {
  for (const t of Object.values(tables)) vi.stubEnv(t.envVar, `test-${t.name}`);
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'destinations/redrive');
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  wiring = await import('../../functions/destinations/wiring');
});
afterAll(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

const emitted = () =>
  lines
    .map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: {
            CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
          };
        },
    )
    .filter((l) => l._aws !== undefined);

describe('destination metrics', () => {
  it('a round publishes each count with the Destination dimension, beside service and stage only', () => {
    lines.length = 0;
    wiring.countRound('mixpanel-eu', {
      delivered: 3,
      dead: 1,
      consentDropped: 0,
      superseded: 2,
      retried: 1,
      held: 4,
      breaker: 'neutral',
      pausedNow: true,
    });
    // A single metric is flushed at each addMetric: one EMF line per count.
    const emfs = emitted();
    const directives = emfs.flatMap((e) => e._aws.CloudWatchMetrics);
    for (const d of directives) {
      expect(d.Namespace).toBe(METRICS_NAMESPACE);
      expect(d.Dimensions.map((set) => [...set].sort())).toEqual([['Destination', 'service', 'stage']]);
    }
    expect(directives.flatMap((d) => d.Metrics.map((m) => m.Name)).sort()).toEqual(
      [
        'Delivered',
        'DeliveryConsentDropped',
        'DeliveryDead',
        'DeliveryHeld',
        'DeliveryRetried',
        'DeliverySuperseded',
        'DestinationPaused',
      ].sort(),
    );
    for (const e of emfs)
      expect(e).toMatchObject({ Destination: 'mixpanel-eu', service: 'destinations/redrive' });
    expect(emfs.find((e) => 'DeliveryDead' in e)?.DeliveryDead).toBe(1);
  });

  it('the redrive publishes how overdue a destination is, by the same dimensions', () => {
    lines.length = 0;
    wiring.countOverdue('hook', 960);
    const [emf] = emitted();
    expect(emf?._aws.CloudWatchMetrics[0]?.Dimensions.map((d) => [...d].sort())).toEqual([
      ['Destination', 'service', 'stage'],
    ]);
    expect(emf).toMatchObject({ Destination: 'hook', OutboxOverdueSeconds: 960 });
  });
});
