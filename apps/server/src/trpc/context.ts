import { firstHeader, requestOrigin } from '../auth/request-origin.js';
import type { ServiceDeps } from '../services/deps.js';

/** Built per request from headers only, so tests can build one without any HTTP at all. */
export interface Context {
  deps: ServiceDeps;
  authorization: string | undefined;
  origin: string | undefined;
}

type HeaderBag = Record<string, string | string[] | undefined>;

/**
 * `connectionParams` carry the credential for SSE subscriptions, since a browser's
 * EventSource cannot set an Authorization header.
 */
export function createContextFromHeaders(
  deps: ServiceDeps,
  headers: HeaderBag,
  connectionParams?: Record<string, string | undefined> | null,
): Context {
  return {
    deps,
    authorization: firstHeader(headers.authorization) ?? connectionParams?.authorization,
    origin: requestOrigin(headers),
  };
}
