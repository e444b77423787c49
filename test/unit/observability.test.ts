import { afterEach, describe, expect, it, vi } from 'vitest';
import { EMPTY_METRICS_WARNING, logger, metrics } from '../../functions/adapters/observability';

afterEach(() => vi.restoreAllMocks());

describe('metrics diagnostics', () => {
  it('says nothing when an invocation published no metric (most requests add none)', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    metrics.publishStoredMetrics();
    expect(warn).not.toHaveBeenCalled();
  });

  it('keeps every other Metrics warning, in the structured log', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    metrics.addDimension('route', '');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain("doesn't meet the requirements");
    expect(String(warn.mock.calls[0]?.[0])).not.toContain(EMPTY_METRICS_WARNING);
    metrics.clearDimensions();
  });
});
