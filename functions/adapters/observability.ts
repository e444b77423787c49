/**
 * Powertools Logger and Metrics, set up once per container and shared by every handler:
 * structured JSON logs with the API Gateway request id as correlation id, EMF metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { settings } from './settings';

export const logger = new Logger();
/** Every metric carries the stage, so stages sharing an account and region stay apart. */
export const metrics = new Metrics({
  defaultDimensions: { stage: settings.stage },
});
export { MetricUnit };
