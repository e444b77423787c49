/**
 * Request body decoding: API Gateway's base64, gzip (announced or recognised by its magic
 * bytes, as several SDKs send it unannounced), strict UTF-8 and JSON. Limits apply to the
 * decompressed body, and inflation stops at the limit instead of inflating a bomb whole.
 */
import { gunzipSync } from 'node:zlib';
import { Problem, tooLarge } from '../core/problem';

export interface BodyOptions {
  maxBytes: number;
  /** Segment routes read the body as JSON whatever the Content-Type says. */
  anyContentType?: boolean;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

export const decodeBody = (
  body: string | undefined,
  isBase64Encoded: boolean,
  headers: Record<string, string | undefined>,
  options: BodyOptions,
): { value: unknown; bytes: number } => {
  if (body === undefined || body === '') return { value: undefined, bytes: 0 };

  const contentType = headers['content-type'];
  if (!options.anyContentType && contentType !== undefined && !JSON_TYPE.test(contentType))
    throw new Problem(
      415,
      'unsupported_media_type',
      `Content-Type must be application/json, not ${contentType}`,
    );
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'gzip' && encoding !== 'identity')
    throw new Problem(
      415,
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not supported (use gzip)`,
    );

  let bytes: Buffer = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (encoding === 'gzip' || isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: options.maxBytes });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw tooLarge('body', options.maxBytes);
      throw new Problem(400, 'invalid_encoding', 'Body is not valid gzip');
    }
  }
  if (bytes.byteLength > options.maxBytes) throw tooLarge('body', options.maxBytes);

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Problem(400, 'invalid_encoding', 'Body is not valid UTF-8');
  }
  try {
    return { value: JSON.parse(text), bytes: bytes.byteLength };
  } catch (error) {
    throw new Problem(400, 'invalid_json', `Body is not valid JSON: ${(error as Error).message}`);
  }
};
