/**
 * Powertools Logger and Metrics, set up once per container and shared by every handler:
 * structured JSON logs with the API Gateway request id as correlation id, EMF metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const logger = new Logger();
export const metrics = new Metrics();
export { MetricUnit };
