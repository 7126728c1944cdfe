import type { ServerOptions } from 'node:http';

/**
 * How long a request may take to arrive: its headers, and the whole of it (headers and
 * body). Only the arrival: once a request is in, Node stops timing it, so a long answer (a
 * live event stream, a streamed turn) is never cut by these.
 */
export interface RequestTimeouts {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_REQUEST_TIMEOUTS: RequestTimeouts = { headersMs: 20_000, requestMs: 60_000 };

/**
 * Node's server options for them. Node looks for late requests every
 * `connectionsCheckingInterval` (30 s by default, which would let a 20 s timeout run to
 * 50 s): a quarter of the headers' timeout, at most a second, keeps the overshoot small for
 * the cost of a walk over the connections still arriving. Fastify sets `requestTimeout`
 * itself, from its own option of that name, after creating the server.
 */
export function requestTimeoutOptions(timeouts: RequestTimeouts): ServerOptions {
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(timeouts.headersMs / 4))),
  };
}
