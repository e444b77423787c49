/**
 * `GET /api/docs`: the OpenAPI document rendered for people by Swagger UI, and
 * `GET /api/docs/{asset}`: the files it loads. Swagger UI is served from the swagger-ui-dist
 * package, never a CDN: in AWS the bundle carries its two files (copied beside the function's
 * code by lib/constructs/functions.ts, `bundledFiles` of lib/bundling.ts); locally they are read
 * from node_modules. Public, no AWS client. The page's content security policy admits its own
 * files only (Swagger UI needs inline styles, nothing inline to run).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpHandler } from '../http/handler';
import { contract, type DOCS_ASSETS } from './docs.contract';

type Asset = (typeof DOCS_ASSETS)[number];

/** Beside the bundle in AWS; from the package when run from the sources. */
const packageFile = (name: string): string => {
  const beside = join(dirname(fileURLToPath(import.meta.url)), name);
  return existsSync(beside) ? beside : createRequire(import.meta.url).resolve(`swagger-ui-dist/${name}`);
};

// `docs/…` is relative to `/api/docs`: it also holds behind a stage or a path prefix.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pulse API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// The document sits beside this page: `openapi.json` relative to `/api/docs`.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', window.location.href).toString(),
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: false
});
`;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<Asset, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
};

const cache = new Map<Asset, string>();
const assetText = (asset: Asset): string => {
  let text = cache.get(asset);
  if (text === undefined) {
    text = asset === 'init.js' ? INIT : readFileSync(packageFile(asset), 'utf8');
    cache.set(asset, text);
  }
  return text;
};

export const handler = httpHandler({
  module: 'service/docs',
  contract,
  authenticators: {},
  handlers: {
    apiDocs: async () => ({
      status: 200,
      text: PAGE,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': CSP,
        'cache-control': 'public, max-age=300',
      },
    }),
    apiDocsAsset: async (_request, { params: { asset } }) => ({
      status: 200,
      text: assetText(asset),
      headers: { 'content-type': TYPES[asset], 'cache-control': 'public, max-age=86400' },
    }),
  },
});
