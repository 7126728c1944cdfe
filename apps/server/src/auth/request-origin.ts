type HeaderBag = Record<string, string | string[] | undefined>;

export const firstHeader = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value[0] : value;

/**
 * The origin a browser request comes from. Browsers omit `Origin` on same-origin GETs
 * (an EventSource to the server that also serves the web app, say) but always send
 * `Sec-Fetch-Site`; for those the origin is the server's own, from `Host`. Outside a
 * browser every header can be forged anyway: hostname binding prevents accidents, not theft.
 */
export function requestOrigin(
  headers: HeaderBag,
  protocol: 'http' | 'https' = 'http',
): string | undefined {
  const origin = firstHeader(headers.origin);
  if (origin) return origin;
  const host = firstHeader(headers.host);
  if (firstHeader(headers['sec-fetch-site']) === 'same-origin' && host)
    return `${protocol}://${host}`;
  return undefined;
}
