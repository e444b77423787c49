/** What `service/docs` takes and answers (see functions/http/operations.ts). */
import * as z from 'zod/mini';
import { ok } from '../core/response-schemas';
import type { Contract } from '../http/operations';

/** The files the page loads: Swagger UI's own two, and the few lines that start it. */
export const DOCS_ASSETS = ['swagger-ui-bundle.js', 'swagger-ui.css', 'init.js'] as const;

export const contract = {
  apiDocs: { responses: ok('The Swagger UI page (text/html) over /api/openapi.json') },
  apiDocsAsset: {
    params: { asset: z.enum(DOCS_ASSETS) },
    // Any other name is no file at all.
    notFoundParams: ['asset'],
    responses: ok('The script or style sheet (JavaScript or CSS, cached for a day)'),
  },
} satisfies Contract<'service/docs'>;
