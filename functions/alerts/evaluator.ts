/** Evaluating every enabled alert once (the schedule's handler is evaluate.ts), apart so tests inject a clock. */
import type { DestinationsRepository } from '../adapters/destinations-repository';
import type { MetricsRepository } from '../adapters/metrics-repository';
import type { OutboxRepository } from '../adapters/outbox-repository';
import { addCounters } from '../core/aggregates';
import { evaluateAlert, evaluationSpan } from '../core/alerts';
import { matchesFilter } from '../core/destinations/definition';
import type { OutboundMessage } from '../core/destinations/delivery';
import { quarterOf } from '../core/time-buckets';

export interface EvaluatorDeps {
  destinations: DestinationsRepository;
  metrics: MetricsRepository;
  outbox: OutboxRepository;
}

export const evaluateAlerts = async (
  deps: EvaluatorDeps,
  now: Date,
): Promise<{ evaluated: number; fired: string[] }> => {
  const alerts = (await deps.destinations.listAlerts()).filter((a) => a.enabled);
  const fired: string[] = [];
  for (const alert of alerts) {
    const { fromMs, toMs } = evaluationSpan(alert, now);
    const shards = (await deps.metrics.campaignShards(alert.campaignId)) ?? [];
    const counts = new Map<string, Record<string, number>>();
    if (toMs > fromMs) {
      const to = quarterOf(new Date(toMs - 1));
      for (const shard of shards)
        for (const row of await deps.metrics.quarters(
          alert.campaignId,
          shard,
          quarterOf(new Date(fromMs)),
          to,
        )) {
          const into = counts.get(row.quarter) ?? {};
          addCounters(into, row.counts);
          counts.set(row.quarter, into);
        }
    }
    const outcome = evaluateAlert(alert, counts, alert.state, now);
    await deps.destinations.saveAlertState(alert.alertId, outcome.state);
    if (!outcome.fired) continue;
    fired.push(alert.alertId);
    const message: OutboundMessage = {
      messageId: `alert:${alert.alertId}:${outcome.fired.windowEnd}`,
      kind: 'alert',
      at: now.toISOString(),
      alert: outcome.fired,
    };
    const following = (await deps.destinations.list()).filter(
      (d) => d.enabled && matchesFilter(d, { kind: 'alert', campaignId: alert.campaignId }),
    );
    await deps.outbox.enqueue(
      following.map((d) => ({ destinationId: d.destinationId, message })),
      now,
      now,
    );
  }
  return { evaluated: alerts.length, fired };
};
