import { redactToken } from '@scopekit/policy';

// No word boundary: in a URL the token often follows "%20" (an encoded "Bearer ").
const TOKEN_PATTERN = /(?:ck|sk)-let-[0-9A-Za-z]+/g;

/** Letta's DELETE puts a token in the path; logs keep only its hint. */
export const redactSecrets = (text: string) =>
  text.replace(TOKEN_PATTERN, (token) => redactToken(token));

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
