import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOKEN_TTL_MS,
  expiresInSeconds,
  refreshDelayMs,
  resolveExpiry,
} from '../src/index.js';

const now = new Date('2030-01-01T00:00:00Z');

describe('resolveExpiry', () => {
  it('defaults to five minutes from now', () => {
    expect(resolveExpiry({ now })).toEqual({
      ok: true,
      value: new Date(now.getTime() + DEFAULT_TOKEN_TTL_MS),
    });
    expect(DEFAULT_TOKEN_TTL_MS).toBe(300_000);
  });

  it('caps the default at a maximum configured below it', () => {
    expect(resolveExpiry({ now, maxTtlMs: 60_000 })).toEqual({
      ok: true,
      value: new Date(now.getTime() + 60_000),
    });
  });

  it('accepts a future time within the maximum', () => {
    expect(resolveExpiry({ now, requested: '2030-01-01T01:00:00Z', maxTtlMs: 3_600_000 })).toEqual({
      ok: true,
      value: new Date('2030-01-01T01:00:00Z'),
    });
  });

  it.each([
    ['2030-01-01T00:00:00Z', /must be in the future/],
    ['2029-12-31T23:59:59Z', /must be in the future/],
    ['2030-01-01T01:00:01Z', /must be at most 1 hour from now/],
    ['soon', /ISO 8601/],
  ])('refuses %s', (requested, message) => {
    const result = resolveExpiry({ now, requested, maxTtlMs: 3_600_000 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('refresh timing', () => {
  it('counts whole seconds left by the server clock', () => {
    expect(expiresInSeconds(new Date(now.getTime() + 299_999), now)).toBe(299);
    expect(expiresInSeconds(new Date(now.getTime() - 1), now)).toBe(0);
  });

  it('refreshes a five-minute token a minute early', () => {
    expect(refreshDelayMs(300)).toBe(240_000);
  });

  it('treats a non-number from the wire as expired, not as a reason to spin', () => {
    expect(refreshDelayMs(Number.NaN)).toBe(1000);
    expect(refreshDelayMs(Number.POSITIVE_INFINITY)).toBe(1000);
  });

  it('always refreshes before expiry (when there is time to) and never in a busy loop', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400 }), (seconds) => {
        const delay = refreshDelayMs(seconds);
        expect(delay).toBeGreaterThanOrEqual(1000);
        if (seconds * 1000 > 6000) expect(delay).toBeLessThan(seconds * 1000);
      }),
    );
  });
});
