/**
 * The console's security headers, declared once: the CloudFront response headers policy
 * (lib/constructs/console.ts) and the local server (lib/local/console.ts) both send these. Plain
 * data, no aws-cdk-lib.
 */

/**
 * Content security policy: the app's own origin, and the API and Cognito's domain for fetches
 * (`connect-src`). Nothing inline runs; uPlot and Preact style through the CSSOM, which
 * `style-src 'self'` allows.
 */
export const consoleCsp = (connect: readonly string[]): string =>
  [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${connect.map((c) => ` ${c}`).join('')}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

export const CONSOLE_SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
} as const;
