import { isIPv6 } from 'node:net';
import type { ServiceDeps } from '../deps.js';
import { AppError, RateLimitedError } from '../errors.js';
import type { RateLimiter, RateRule } from '../infra/rate-limiter.js';
import type { Principal } from './principal.js';
import { type BearerRequest, verifyBearer, verifyCachedBearer } from './verify-bearer.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * What a per-address limit counts under. An IPv6 client is one /64: a single host or home
 * network is usually given a whole /64, and counting each of its 2^64 addresses apart
 * would let it spend a fresh allowance with every address. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) is its IPv4 address.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const plain = address.split('%')[0] ?? address;
  if (!isIPv6(plain)) return plain;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain)?.[1];
  if (mapped) return mapped;
  // A dotted IPv4 tail stands for the last two groups.
  const groupsOf = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const [head = '', tail] = plain.split('::');
  const front = groupsOf(head);
  const back = tail === undefined ? [] : groupsOf(tail);
  const groups = [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

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
 * Attempts in flight on this instance (log-ins, bearer verifications), per limit key. A
 * failure is only known once the attempt is done (a password hash, a database read), so an
 * attempt holds a place under the limit while it runs: otherwise many parallel guesses
 * would all pass the check before the first of them was counted.
 */
const attemptsInFlight = new WeakMap<RateLimiter, Map<string, number>>();

/**
 * Runs a log-in under the failed-log-in limits: per client address and per username typed
 * (known or not, so the limit tells nothing about which names exist). Checked before the
 * password is, so a guesser over a limit learns nothing even from a right guess; counted only
 * on failure, so people who share an address (an office NAT) are not locked out by each
 * other's successful log-ins. The refusal does not say which limit, to keep that secret too.
 */
export async function withLoginLimits<T>(
  deps: ServiceDeps,
  args: { clientAddress: string | undefined; username: string },
  attempt: () => Promise<T>,
): Promise<T> {
  const rules: [string, RateRule][] = [
    [`login:${addressKey(args.clientAddress)}`, loginRule(deps.accounts.loginFailuresPerMinute)],
    [
      // Keyed-hashed: the counters are shared through the database, and people sometimes
      // type their password into the username field.
      `login-user:${deps.secrets.keyedHash(args.username.trim().toLowerCase())}`,
      loginRule(deps.accounts.loginFailuresPerUsernamePerMinute),
    ],
  ];
  return underFailureLimits(
    deps,
    rules,
    (retryAfterSeconds) => `Too many failed log-ins; retry in ${retryAfterSeconds} s`,
    attempt,
  );
}

/**
 * Verifies a bearer credential under the limit of failed authentications per client address
 * (an IPv6 /64). The token checksum is public, so anyone can make well-formed tokens that
 * pass it, and each unknown one costs a database read: over the limit, an address's
 * credentials that are not in the token cache get a 429 before any read. Those the cache
 * holds are verified as ever, and malformed ones are refused offline: neither costs a read,
 * and a neighbour behind the same NAT who guesses must not cut off a client whose token
 * works. As for log-ins, each read holds a place while it runs, so a burst of parallel
 * guesses cannot all pass the check first.
 */
export function verifyBearerWithinLimits(
  deps: ServiceDeps,
  request: BearerRequest,
  clientAddress: string | undefined,
): Principal | Promise<Principal> {
  // A credential the cache holds by its value costs no read, so no limit applies, and it is
  // answered without a wait (no promise) on the path of every request of a steady client.
  const cached = verifyCachedBearer(deps, request);
  if (cached) return cached;
  const limit = deps.limits.bearerFailuresPerMinute;
  return verifyBearer(deps, request, (read) =>
    underFailureLimits(
      deps,
      [[`bearer:${addressKey(clientAddress)}`, { limit, windowMs: MINUTE_MS }]],
      (retryAfterSeconds) =>
        `More than ${limit} failed authentications a minute from this address; retry in ${retryAfterSeconds} s`,
      read,
    ),
  );
}

/**
 * Runs `attempt` if every rule has room, counting it against each only if it fails with 401;
 * refused with a 429 (the longest wait of the rules over their limit) otherwise.
 */
async function underFailureLimits<T>(
  deps: ServiceDeps,
  rules: [string, RateRule][],
  refusal: (retryAfterSeconds: number) => string,
  attempt: () => Promise<T>,
): Promise<T> {
  const running = attemptsInFlight.get(deps.rateLimiter) ?? new Map<string, number>();
  attemptsInFlight.set(deps.rateLimiter, running);
  let retryAfterSeconds = 0;
  for (const [key, rule] of rules) {
    const held = running.get(key) ?? 0;
    const decision = deps.rateLimiter.check(key, { ...rule, limit: rule.limit - held });
    if (!decision.allowed)
      retryAfterSeconds = Math.max(retryAfterSeconds, decision.retryAfterSeconds);
  }
  if (retryAfterSeconds > 0)
    throw new RateLimitedError(refusal(retryAfterSeconds), retryAfterSeconds);
  for (const [key] of rules) running.set(key, (running.get(key) ?? 0) + 1);
  try {
    return await attempt();
  } catch (error) {
    if (error instanceof AppError && error.code === 'UNAUTHORIZED')
      for (const [key, rule] of rules) deps.rateLimiter.consume(key, rule);
    throw error;
  } finally {
    for (const [key] of rules) {
      const left = (running.get(key) ?? 1) - 1;
      if (left > 0) running.set(key, left);
      else running.delete(key);
    }
  }
}

const loginRule = (limit: number): RateRule => ({ limit, windowMs: MINUTE_MS });

/** Sign-ups per client address (an IPv6 /64): each costs a password hash and a new agent. */
export function enforceSignUpLimit(deps: ServiceDeps, clientAddress: string | undefined): void {
  const limit = deps.accounts.signUpsPerAddressPerHour;
  const decision = deps.rateLimiter.consume(`signup:${addressKey(clientAddress)}`, {
    limit,
    windowMs: HOUR_MS,
  });
  if (!decision.allowed) {
    throw new RateLimitedError(
      `Sign-up limit of ${limit} per hour from this address reached; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}

/**
 * Session tokens per user, across all their sessions: each mint adds a row, and a fresh token
 * would otherwise sidestep the per-token request limit.
 */
export function enforceSessionTokenLimit(deps: ServiceDeps, userId: string): void {
  const limit = deps.accounts.sessionTokensPerMinute;
  const decision = deps.rateLimiter.consume(`mint:${userId}`, { limit, windowMs: MINUTE_MS });
  if (!decision.allowed) {
    throw new RateLimitedError(
      `Token limit of ${limit} per minute reached for this user; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}
