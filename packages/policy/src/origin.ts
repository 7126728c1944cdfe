import { err, ok, type Result } from './result.js';

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * Validates a token's `hostname`: a full http(s) URL naming only an origin, without a
 * trailing slash (as Letta requires). The value is the normalised origin.
 */
export function parseHostname(input: string): Result<string, string> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return err('must be a full URL with protocol, such as https://app.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return err(`must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (!url.hostname) return err('must name a host');
  if (url.username || url.password) return err('must not contain credentials');
  if (url.search || url.hash || input.includes('?') || input.includes('#')) {
    return err('must not contain a query or fragment');
  }
  if (input.endsWith('/') || input.endsWith('\\')) {
    return err('must not end with a trailing slash');
  }
  if (url.pathname !== '/') return err('must not contain a path');
  if (url.port === '0') return err('must not use port 0');
  // The URL parser forgives much (surrounding spaces, `https:host`, `/.`, `%2e`); a hostname
  // is an origin written out, so anything the parser had to repair is refused, not guessed at.
  if (!sameOriginText(input, url)) {
    return err('must be written as scheme://host[:port], such as https://app.example.com');
  }
  // The WHATWG parser has lower-cased scheme and host, punycoded IDNs and dropped a default port.
  return ok(url.origin);
}

/** Whether `input` spells `url`'s origin, up to letter case and an explicit default port. */
function sameOriginText(input: string, url: URL): boolean {
  const written = input.toLowerCase();
  return (
    written === `${url.protocol}//${url.host}` ||
    written === `${url.protocol}//${url.hostname}:${DEFAULT_PORTS[url.protocol]}` ||
    // An internationalised host is written in Unicode but parsed to punycode.
    (url.hostname.includes('xn--') && /^https?:\/\/[^/?#\\\s@]+$/.test(written))
  );
}

/** The normalised form of a request's `Origin` header, or null for `null`, empty or garbage. */
export function normalizeOrigin(origin: string): string | null {
  if (!origin || origin === 'null') return null;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** Whether a request's `Origin` is the token's hostname: same scheme, host and port. */
export function originMatches(hostname: string, origin: string | null | undefined): boolean {
  if (!origin) return false;
  const expected = normalizeOrigin(hostname);
  return expected !== null && expected === normalizeOrigin(origin);
}
