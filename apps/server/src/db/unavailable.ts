import { errorCodes } from './error-code.js';

/** Node socket errors that mean the database cannot be reached right now. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTCONN',
]);
/** postgres.js's own codes for a connection that is gone or never came. */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);
/** SQLSTATE: class 08 is "connection exception"; 57P01–57P03 mean the server is shutting down or starting. */
const isUnavailableSqlState = (code: string) => code.startsWith('08') || /^57P0[123]$/.test(code);

/**
 * Whether an error (or anything in its `cause` chain, as Drizzle wraps driver errors) means
 * the database is unreachable: such requests get a fast 503 rather than a 500, and the
 * process stays up to recover by itself when the database is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return errorCodes(error).some(
    (code) => SOCKET_CODES.has(code) || DRIVER_CODES.has(code) || isUnavailableSqlState(code),
  );
}

export const DATABASE_UNAVAILABLE_MESSAGE =
  'The database is unavailable; try again in a few seconds';
