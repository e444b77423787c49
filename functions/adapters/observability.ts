/**
 * Powertools Logger and Metrics, set up once per container and shared by every handler:
 * structured JSON logs with the API Gateway request id as correlation id, EMF metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { settings } from './settings';

export const logger = new Logger();

/**
 * What Metrics warns at every flush that has no metric. Most requests add none (reads, consent),
 * so it would be a line per request saying nothing; every other Metrics warning is kept.
 */
export const EMPTY_METRICS_WARNING = 'No application metrics to publish';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** A Metrics diagnostic (a message, then anything) as a structured log line. */
const forward =
  (level: Level) =>
  (message: unknown, ...rest: unknown[]): void =>
    logger[level](String(message), ...rest.map((r) => (r instanceof Error ? { error: r } : { detail: r })));

/** Metrics' own diagnostics, in the structured log (Powertools' `logger` option), less that one. */
const metricsDiagnostics = {
  debug: forward('debug'),
  info: forward('info'),
  warn: (message: unknown, ...rest: unknown[]): void => {
    if (String(message).startsWith(EMPTY_METRICS_WARNING)) return;
    forward('warn')(message, ...rest);
  },
  error: forward('error'),
};

/** Every metric carries the stage, so stages sharing an account and region stay apart. */
export const metrics = new Metrics({
  defaultDimensions: { stage: settings.stage },
  logger: metricsDiagnostics,
});
export { MetricUnit };
