import { firstHeader, requestOrigin, type ServerAddress } from '../auth/request-origin.js';
import type { ServiceDeps } from '../deps.js';
import type { WarningLog } from '../tokens/client-token-listing.js';

/**
 * How a procedure sets or clears the session cookie. Over HTTP it writes `Set-Cookie`;
 * tests without HTTP pass their own to see what would have been sent.
 */
export interface SessionCookieWriter {
  set(sessionId: string, expiresAt: Date): void;
  clear(): void;
}

/** Built per request from headers only, so tests can build one without any HTTP at all. */
export interface Context {
  deps: ServiceDeps;
  authorization: string | undefined;
  origin: string | undefined;
  /** The raw session id from the session cookie, if the request carries one. */
  sessionId: string | undefined;
  /** The peer's address: failed log-ins are limited per address. */
  clientAddress: string | undefined;
  sessionCookie: SessionCookieWriter;
  /** The request's logger over HTTP; silent for tests that build a context without one. */
  log: WarningLog;
  /** Quoted in an internal error's answer, and carried by its log line. */
  requestId: string | undefined;
}

type HeaderBag = Record<string, string | string[] | undefined>;

export interface SessionTransport {
  /** How the client addressed the server; without it, plain http to the `Host` header. */
  server?: ServerAddress;
  sessionId?: string | undefined;
  clientAddress?: string | undefined;
  sessionCookie?: SessionCookieWriter;
  log?: WarningLog;
  requestId?: string;
}

const NO_COOKIES: SessionCookieWriter = { set() {}, clear() {} };
const NO_LOG: WarningLog = { warn() {} };

/**
 * The credential comes from the Authorization header only, subscriptions included (the web
 * app's EventSource reads the stream through fetch to set it): never from the URL.
 */
export function createContextFromHeaders(
  deps: ServiceDeps,
  headers: HeaderBag,
  session: SessionTransport = {},
): Context {
  return {
    deps,
    authorization: firstHeader(headers.authorization),
    origin: requestOrigin(headers, session.server),
    sessionId: session.sessionId,
    clientAddress: session.clientAddress,
    sessionCookie: session.sessionCookie ?? NO_COOKIES,
    log: session.log ?? NO_LOG,
    requestId: session.requestId,
  };
}
