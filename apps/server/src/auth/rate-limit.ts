import { RateLimitedError } from '../errors.js';
import type { ServiceDeps } from '../services/deps.js';
import type { Principal } from './principal.js';

const MINUTE_MS = 60_000;

/** Each credential has its own budget per minute, so one runaway client cannot starve the rest. */
export function enforceRateLimit(deps: ServiceDeps, principal: Principal): void {
  const [key, limit] =
    principal.kind === 'clientToken'
      ? [`token:${principal.tokenId}`, deps.limits.clientTokenPerMinute]
      : [`key:${principal.apiKeyId}`, deps.limits.apiKeyPerMinute];
  const decision = deps.rateLimiter.consume(key, { limit, windowMs: MINUTE_MS });
  if (!decision.allowed) {
    throw new RateLimitedError(
      `Rate limit of ${limit} requests per minute exceeded for this ${principal.kind === 'clientToken' ? 'token' : 'API key'}; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}
