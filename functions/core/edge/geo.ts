/**
 * The country a request came from, as an ISO 3166-1 alpha-2 code, never the address itself: from
 * CloudFront's `CloudFront-Viewer-Country` header when the deployment sits behind CloudFront (the
 * header is CloudFront's own, so only trusted when the operator says so), or by looking the
 * address up in a GeoLite2 / GeoIP2 Country database the operator supplies (mmdb-lib reads the
 * MaxMind DB format). The address is used for the lookup and dropped. Pure: the caller reads the
 * file.
 */
import { type CountryResponse, Reader } from 'mmdb-lib';

export const COUNTRY_MODES = ['off', 'cloudfront', 'mmdb'] as const;
export type CountryMode = (typeof COUNTRY_MODES)[number];

const ISO_COUNTRY = /^[A-Z]{2}$/;

/** CloudFront's header value, when it is a country code (`XX`: CloudFront could not tell). */
export const countryFromHeader = (value: string | undefined): string | undefined => {
  const v = value?.trim().toUpperCase();
  return v !== undefined && ISO_COUNTRY.test(v) && v !== 'XX' ? v : undefined;
};

/** A lookup over a MaxMind DB (the file's bytes): address → country code, or undefined. */
export const countryDatabase = (db: Buffer): ((ip: string | undefined) => string | undefined) => {
  const reader = new Reader<CountryResponse>(db);
  return (ip) => {
    if (ip === undefined || ip === '') return undefined;
    let record: CountryResponse | null;
    try {
      record = reader.get(ip);
    } catch {
      return undefined; // not an address
    }
    const code = record?.country?.iso_code ?? record?.registered_country?.iso_code;
    return code !== undefined && ISO_COUNTRY.test(code) ? code : undefined;
  };
};
