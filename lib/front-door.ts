/**
 * Front doors: how requests reach the functions. `httpApi` (the default) is API Gateway's HTTP API
 * for every route. `alb` adds an Application Load Balancer for the public write-key routes, where
 * the volume is: ALB bills load-balancer capacity units by the hour instead of $1.00 per million
 * requests, the largest line of the cost model at high volume (README, "What it costs"). Analyst and
 * admin routes stay on the HTTP API (JWT routes, low volume). Plain data, no aws-cdk-lib.
 */
import { Problem } from '../functions/core/problem';
import { type RouteDef, routes } from './routes';

export type FrontDoor = 'httpApi' | 'alb';
export const FRONT_DOORS: readonly FrontDoor[] = ['httpApi', 'alb'];

/** The routes the ALB serves: every write-key route (ingestion, consent, identify, promotion, Segment). */
export const albRoutes: readonly RouteDef[] = routes.filter((r) => r.auth === 'writeKey');

/** ALB's limit for a Lambda target's request and response bodies. */
export const ALB_LAMBDA_BODY_LIMIT_BYTES = 1024 * 1024;

/** What the listener answers itself for anything no rule forwards (its default action). */
export const ALB_NOT_FOUND = {
  statusCode: 404,
  contentType: 'application/problem+json',
  body: JSON.stringify(
    new Problem(
      404,
      'not_found',
      'No such route on the ingestion endpoint; analyst and admin routes are on the API endpoint',
    ).toBody(),
  ),
} as const;

/** An ALB path pattern for a route path: `{param}` segments become `*`. */
export const albPathPattern = (path: string): string => path.replace(/\{[^}]+\}/g, '*');
