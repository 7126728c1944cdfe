import { redactToken } from '@scopekit/policy';

// No word boundary: in a URL the token often follows "%20" (an encoded "Bearer ").
const TOKEN_PATTERN = /(?:ck|sk)-let-[0-9A-Za-z]+/g;

/**
 * A URL fit for a log line. Letta's DELETE puts a token in the path: logs keep only its
 * hint. A query string can carry anything a client put there (a tRPC subscription's
 * `connectionParams` with its bearer, a password someone sent in a GET), so only its keys
 * are kept, never its values.
 */
export function redactSecrets(url: string): string {
  const queryAt = url.indexOf('?');
  const path = (queryAt === -1 ? url : url.slice(0, queryAt)).replace(TOKEN_PATTERN, (token) =>
    redactToken(token),
  );
  if (queryAt === -1) return path;
  const keys = url
    .slice(queryAt + 1)
    .split('&')
    .filter((pair) => pair !== '')
    // A bare `?word` is as likely a value as a name.
    .map((pair) =>
      pair.includes('=') ? `${redactSecrets(pair.slice(0, pair.indexOf('=')))}=…` : '…',
    );
  return keys.length ? `${path}?${keys.join('&')}` : path;
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'key',
  '*.key',
];
