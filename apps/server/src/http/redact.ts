import { redactToken } from '@scopekit/policy';

// No word boundary: in a URL the token often follows "%20" (an encoded "Bearer ").
export const TOKEN_PATTERN = /(?:ck|sk)-let-[0-9A-Za-z]+/g;
const ASCII_ESCAPE = /%([0-7][0-9A-Fa-f])/g;
/** Enough for any nesting a client would bother with; each round only shortens the text. */
const MAX_DECODE_ROUNDS = 8;

/**
 * The text with every percent-escaped ASCII character decoded, as often as it takes (so
 * `%2543` is `C` too). A token is ASCII, and the router decodes route parameters before a
 * route sees them: `…/ck-let-AB%43D…` revokes the token `ck-let-ABCD…`, so the pattern must
 * run on decoded text or an escaped character would let the whole secret through. Only
 * ASCII is decoded, so no escape can fail to decode, whatever a client sent.
 */
export function decodeAscii(text: string): string {
  let decoded = text;
  for (let round = 0; round < MAX_DECODE_ROUNDS && decoded.includes('%'); round++) {
    const next = decoded.replace(ASCII_ESCAPE, (_escape, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === decoded) break;
    decoded = next;
  }
  return decoded;
}

/**
 * A URL fit for a log line or an error message. Letta's DELETE puts a token in the path:
 * it is kept as its hint only, found in the decoded path. A query string can carry anything
 * a client put there (a bearer in `connectionParams`, refused but still logged, a password
 * someone sent in a GET), so only its keys are kept, never its values.
 */
export function redactSecrets(url: string): string {
  const queryAt = url.indexOf('?');
  const path = decodeAscii(queryAt === -1 ? url : url.slice(0, queryAt)).replace(
    TOKEN_PATTERN,
    (token) => redactToken(token),
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

/**
 * Fields redacted from any logged object. Requests and replies are logged through their
 * serializers (method, redacted URL and address; status code), which never carry headers,
 * so these cover what code logs by name: a password, token or key put in a log call.
 */
export const REDACTED_PATHS = ['password', '*.password', 'token', '*.token', 'key', '*.key'];

/** Deep enough for tRPC's wrapper around Drizzle's around the driver's, and safe from a cycle. */
const MAX_CAUSE_DEPTH = 5;
/** Drizzle's failed query ends its message with its parameters (tokens' ids, addresses, names). */
const QUERY_PARAMETERS = /\nparams: [\s\S]*$/;

interface LoggedError {
  [key: string]: unknown;
  type: string;
  message: string;
  stack: string;
}

/**
 * The `err` serializer of every log line: the error's type, message, stack, code and the
 * statement it ran, down its cause chain, with a failed query's parameters cut from the
 * message and stack and its `params` field left out.
 */
export function serializeError(error: Error, depth = 0): LoggedError {
  const message = error.message.replace(QUERY_PARAMETERS, '\nparams: [redacted]');
  const logged: LoggedError = {
    type: error.constructor.name,
    message,
    stack: (error.stack ?? '').replace(error.message, message),
  };
  const { code, query, cause } = error as { code?: unknown; query?: unknown; cause?: unknown };
  if (code !== undefined) logged.code = code;
  if (typeof query === 'string') logged.query = query;
  if (cause !== undefined && depth < MAX_CAUSE_DEPTH)
    logged.cause = cause instanceof Error ? serializeError(cause, depth + 1) : String(cause);
  return logged;
}
