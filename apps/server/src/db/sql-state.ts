/** SQLSTATE 23503: a row names a parent that is not there (or no longer). */
export const FOREIGN_KEY_VIOLATION = '23503';

/** The SQLSTATE of a database error, found through the `cause` chain Drizzle wraps it in. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return undefined;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
