import { err, ok, type Result } from './result.js';

export const DEFAULT_TOKEN_TTL_MS = 5 * 60 * 1000;
export const DEFAULT_MAX_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;

function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/**
 * When a new token should expire: `requested` if given (in the future and within the
 * maximum), otherwise the default TTL from `now`. Messages are phrased for `expires_at`.
 */
export function resolveExpiry(options: {
  requested?: string | Date | undefined;
  now: Date;
  defaultTtlMs?: number;
  maxTtlMs?: number;
}): Result<Date, string> {
  const { requested, now } = options;
  const maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TOKEN_TTL_MS;
  if (requested === undefined) {
    // A maximum configured below the default caps the default too.
    const ttlMs = Math.min(options.defaultTtlMs ?? DEFAULT_TOKEN_TTL_MS, maxTtlMs);
    return ok(new Date(now.getTime() + ttlMs));
  }
  const at = typeof requested === 'string' ? new Date(requested) : requested;
  if (Number.isNaN(at.getTime())) {
    return err('must be an ISO 8601 date-time, such as 2030-01-31T12:00:00Z');
  }
  if (at.getTime() <= now.getTime()) return err('must be in the future');
  if (at.getTime() - now.getTime() > maxTtlMs) {
    return err(`must be at most ${describeDuration(maxTtlMs)} from now`);
  }
  return ok(at);
}

/** Whole seconds left by the server's clock; what a client should plan its refresh from. */
export function expiresInSeconds(expiresAt: Date, now: Date): number {
  return Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
}

/**
 * How long a client should wait before refreshing a token that the server said expires in
 * `expiresInSeconds`. Only that relative figure is used, never the client's wall clock,
 * which may be minutes off.
 */
export function refreshDelayMs(
  expiresInSeconds: number,
  options: { leadFraction?: number; minLeadMs?: number; minDelayMs?: number } = {},
): number {
  const { leadFraction = 0.2, minLeadMs = 5000, minDelayMs = 1000 } = options;
  // Garbage from the wire (NaN, a string) counts as "expired": refresh after the minimum
  // delay rather than in a tight loop.
  const ttlMs = Number.isFinite(expiresInSeconds) ? Math.max(0, expiresInSeconds) * 1000 : 0;
  const lead = Math.max(minLeadMs, ttlMs * leadFraction);
  return Math.max(minDelayMs, ttlMs - lead);
}
