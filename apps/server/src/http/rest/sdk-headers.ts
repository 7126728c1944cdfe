import type { FastifyRequest } from 'fastify';
import type { SdkRetry } from '../../conversation/send-checks.js';

/**
 * What the official Letta SDK (a Stainless client) says about a request in its headers:
 * `X-Stainless-Timeout`, the timeout given to this request (seconds), and
 * `X-Stainless-Retry-Count`, 0 on a first attempt and n on its n-th retry (after a timeout,
 * a lost connection, a 408, 409, 429 or 5xx). It sends no idempotency key.
 */

/** The Letta SDK's timeout unless a request says otherwise; common to HTTP clients too. */
const DEFAULT_CLIENT_TIMEOUT_S = 60;
/** The SDK's longest wait between two attempts (its `maxRetryDelay`). */
const MAX_RETRY_DELAY_MS = 8_000;

function clientTimeoutMs(request: FastifyRequest): number {
  const header = request.headers['x-stainless-timeout'];
  const seconds =
    typeof header === 'string' && /^\d{1,6}$/.test(header) && Number(header) > 0
      ? Number(header)
      : DEFAULT_CLIENT_TIMEOUT_S;
  return seconds * 1000;
}

/**
 * How long a plain send may wait for the agent: half its client's timeout, so that the turn
 * still has time to run and be answered.
 */
export function waitWithinClientTimeout(request: FastifyRequest): number {
  return clientTimeoutMs(request) / 2;
}

/**
 * The retry this request is, if the SDK says so, and how far back its first attempt can
 * have been: each attempt before it lasted at most the timeout, then the SDK waited at most
 * its longest back-off.
 */
export function sdkRetry(request: FastifyRequest): SdkRetry | undefined {
  const header = request.headers['x-stainless-retry-count'];
  if (typeof header !== 'string' || !/^\d{1,3}$/.test(header)) return undefined;
  const count = Number(header);
  if (count < 1) return undefined;
  return { count, windowMs: count * (clientTimeoutMs(request) + MAX_RETRY_DELAY_MS) };
}
