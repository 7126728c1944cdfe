type HeaderBag = Record<string, string | string[] | undefined>;

export const firstHeader = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value[0] : value;

/** Where the client reached this server, as the HTTP framework saw it. */
export interface ServerAddress {
  /** After a trusted proxy's `X-Forwarded-Proto`. */
  protocol: 'http' | 'https';
  /** After a trusted proxy's `X-Forwarded-Host`; with the port, if any. */
  host: string | undefined;
}

/**
 * The origin a browser request comes from. Browsers omit `Origin` on same-origin GETs
 * (an EventSource to the server that also serves the web app, say) but always send
 * `Sec-Fetch-Site`; for those the origin is the server's own, as the client addressed it
 * (behind a TLS-terminating proxy that is `https://` and the public host). Outside a
 * browser every header can be forged anyway: hostname binding prevents accidents, not theft.
 */
export function requestOrigin(
  headers: HeaderBag,
  server: ServerAddress = { protocol: 'http', host: firstHeader(headers.host) },
): string | undefined {
  const origin = firstHeader(headers.origin);
  if (origin) return origin;
  if (firstHeader(headers['sec-fetch-site']) === 'same-origin' && server.host)
    return `${server.protocol}://${server.host}`;
  return undefined;
}
