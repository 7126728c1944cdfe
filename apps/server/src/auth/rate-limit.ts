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

/**
 * Failed log-ins per client address: checked before the password is, so a guesser over the
 * limit learns nothing even from a right guess, and counted only on failure, so people who
 * share an address (an office NAT) are not locked out by each other's successful log-ins.
 */
export function checkLoginFailures(deps: ServiceDeps, clientAddress: string | undefined): void {
  const limit = deps.accounts.loginFailuresPerMinute;
  const decision = deps.rateLimiter.check(loginKey(clientAddress), { limit, windowMs: MINUTE_MS });
  if (!decision.allowed) {
    throw new RateLimitedError(
      `Too many failed log-ins from this address; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}

export function countLoginFailure(deps: ServiceDeps, clientAddress: string | undefined): void {
  deps.rateLimiter.consume(loginKey(clientAddress), {
    limit: deps.accounts.loginFailuresPerMinute,
    windowMs: MINUTE_MS,
  });
}

const loginKey = (clientAddress: string | undefined) => `login:${clientAddress ?? 'unknown'}`;
