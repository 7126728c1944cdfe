/** SQLSTATE 23503: a row names a parent that is not there (or no longer). */
export const FOREIGN_KEY_VIOLATION = '23503';
/** SQLSTATE 23505: a unique index already holds the value. */
export const UNIQUE_VIOLATION = '23505';

/** Deep enough for Drizzle's wrapper around the driver's error, and safe from a cycle. */
const MAX_DEPTH = 5;

/**
 * The codes down an error's `cause` chain, outermost first: Drizzle wraps the driver's error
 * (a SQLSTATE, a socket or postgres.js code) in one of its own that has none. What the
 * database layer asks of an error is asked of these.
 */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; depth < MAX_DEPTH; depth++) {
    if (!current || typeof current !== 'object') break;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * The driver's code (SQLSTATE or socket error) under Drizzle's wrapper: it names the fault
 * without the statement or its parameters, which hold token ids and client addresses.
 */
export function errorCode(error: unknown): string {
  return errorCodes(error)[0] ?? (error instanceof Error ? error.name : 'unknown error');
}
