import CRC32 from 'crc-32';
import { err, ok, type Result } from './result.js';

export const TOKEN_PREFIXES = { client: 'ck-let-', server: 'sk-let-' } as const;
export type TokenKind = keyof typeof TOKEN_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 43 base62 characters carry 256.0 bits of randomness. */
const SECRET_LENGTH = 43;
/** 62^6 > 2^32, so six characters hold any CRC32. */
const CHECKSUM_LENGTH = 6;
const PREFIX_LENGTH = 7;
export const TOKEN_LENGTH = PREFIX_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH;

const BODY_PATTERN = /^[0-9A-Za-z]+$/;
// Bytes at or above 248 (= 4 × 62) are discarded so every character is equally likely.
const UNBIASED_LIMIT = 248;

function randomBase62(length: number): string {
  let out = '';
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    globalThis.crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      if (byte < UNBIASED_LIMIT) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(prefixAndSecret: string): string {
  let value = CRC32.str(prefixAndSecret) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/**
 * A new credential: prefix, 256 random bits in base62, and a CRC32 of both, so that a
 * mistyped or truncated token is refused offline and leaked ones are easy to scan for.
 */
export function generateToken(kind: TokenKind): string {
  const head = TOKEN_PREFIXES[kind] + randomBase62(SECRET_LENGTH);
  return head + checksum(head);
}

export type TokenParseError = 'prefix' | 'length' | 'charset' | 'checksum';

/** Checks a token's shape and checksum without any look-up. */
export function parseToken(
  token: string,
): Result<{ kind: TokenKind; secret: string }, TokenParseError> {
  const kind = (Object.keys(TOKEN_PREFIXES) as TokenKind[]).find((k) =>
    token.startsWith(TOKEN_PREFIXES[k]),
  );
  if (kind === undefined) return err('prefix');
  if (token.length !== TOKEN_LENGTH) return err('length');
  const body = token.slice(PREFIX_LENGTH);
  if (!BODY_PATTERN.test(body)) return err('charset');
  const head = token.slice(0, PREFIX_LENGTH + SECRET_LENGTH);
  if (checksum(head) !== token.slice(PREFIX_LENGTH + SECRET_LENGTH)) return err('checksum');
  return ok({ kind, secret: body.slice(0, SECRET_LENGTH) });
}

export function isWellFormedToken(token: string, kind?: TokenKind): boolean {
  const parsed = parseToken(token);
  return parsed.ok && (kind === undefined || parsed.value.kind === kind);
}

const TOKEN_ERRORS: Record<TokenParseError, string> = {
  prefix: 'the token does not start with ck-let- or sk-let-',
  length: `the token is not ${TOKEN_LENGTH} characters long`,
  charset: 'the token contains characters outside 0-9, A-Z and a-z',
  checksum: 'the token checksum does not match; it is mistyped or corrupted',
};

export function describeTokenError(error: TokenParseError): string {
  return TOKEN_ERRORS[error];
}

/** Enough to tell tokens apart in logs and admin screens, useless to an attacker. */
export function redactToken(token: string): string {
  const kind = (Object.keys(TOKEN_PREFIXES) as TokenKind[]).find((k) =>
    token.startsWith(TOKEN_PREFIXES[k]),
  );
  if (kind === undefined) return '[redacted]';
  return `${token.slice(0, PREFIX_LENGTH + 4)}…`;
}
