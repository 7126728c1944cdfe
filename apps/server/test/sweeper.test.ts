import { describe, expect, it } from 'vitest';
import { createSession, resolveSession } from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import { hashToken } from '../src/crypto/hash.js';
import { clientTokenAgents, clientTokens, rateLimitCounters, sessions } from '../src/db/schema.js';
import { RateLimiter } from '../src/infra/rate-limiter.js';
import { Sweeper, sweepExpired } from '../src/infra/sweeper.js';
import { revokeClientTokenById } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ clock });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const mint = (expiresInMs: number) =>
  mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    expiresAt: new Date(clock.now().getTime() + expiresInMs),
  });

const remainingIds = async () =>
  (await s.deps.db.select({ id: clientTokens.id }).from(clientTokens)).map((r) => r.id).sort();

describe('sweeping expired and revoked tokens', () => {
  it('deletes tokens expired or revoked longer ago than the retention, and nothing else', async () => {
    const live = await mint(3 * HOUR);
    await mint(5 * MINUTE); // expires long before the sweep
    const revokedLongAgo = await mint(3 * HOUR);
    await revokeClientTokenById(s.deps, {
      organizationId: s.acme.organizationId,
      id: revokedLongAgo.id,
    });
    clock.advance(HOUR);
    const expiredJustNow = await mint(MINUTE);
    const revokedJustNow = await mint(3 * HOUR);
    await revokeClientTokenById(s.deps, {
      organizationId: s.acme.organizationId,
      id: revokedJustNow.id,
    });
    clock.advance(2 * MINUTE);

    const result = await sweepExpired(s.deps, { retainMs: 30 * MINUTE });

    expect(result).toEqual({ deletedTokens: 2, deletedSessions: 0 });
    expect(await remainingIds()).toEqual([live.id, expiredJustNow.id, revokedJustNow.id].sort());
    const agentRows = await s.deps.db.select().from(clientTokenAgents);
    expect(agentRows.map((r) => r.tokenId).sort()).toEqual(await remainingIds());
  });

  it('splits a backlog between sweeps running at once, deleting each token once', async () => {
    for (let i = 0; i < 25; i++) await mint(MINUTE);
    const keep = await mint(3 * HOUR);
    clock.advance(2 * MINUTE);
    const results = await Promise.all([
      sweepExpired(s.deps, { retainMs: 0, batchSize: 4 }),
      sweepExpired(s.deps, { retainMs: 0, batchSize: 4 }),
      sweepExpired(s.deps, { retainMs: 0, batchSize: 4 }),
    ]);
    expect(results.reduce((sum, r) => sum + r.deletedTokens, 0)).toBe(25);
    expect(await remainingIds()).toEqual([keep.id]);
  });

  it('deletes log-in sessions once they expire, in batches, and keeps live ones', async () => {
    const user = await signUp(s.deps, { username: 'sweepy', password: 'a long password' });
    for (let i = 0; i < 5; i++) await createSession(s.deps, { userId: user.id });
    clock.advance(s.deps.accounts.sessionTtlMs + MINUTE);
    const live = await createSession(s.deps, { userId: user.id });

    const result = await sweepExpired(s.deps, { retainMs: HOUR, batchSize: 2 });

    expect(result).toEqual({ deletedTokens: 0, deletedSessions: 5 });
    const remaining = await s.deps.db.select({ idHash: sessions.idHash }).from(sessions);
    expect(remaining).toEqual([{ idHash: hashToken(live.sessionId) }]);
    expect(await resolveSession(s.deps, { sessionId: live.sessionId })).not.toBeNull();
  });

  it('keeps rate-limit windows for a day, whatever the token retention', async () => {
    const startedAgo = (ms: number) => new Date(clock.now().getTime() - ms);
    await s.deps.db.insert(rateLimitCounters).values([
      { key: 'signup:live-hour', windowStart: startedAgo(30 * MINUTE), count: 3 },
      { key: 'signup:ended-hour', windowStart: startedAgo(2 * HOUR), count: 3 },
      { key: 'login:long-gone', windowStart: startedAgo(25 * HOUR), count: 3 },
    ]);
    // A limiter that shares its counts through the database, as with several instances.
    const rateLimiter = new RateLimiter(s.deps.db, clock.now);
    try {
      await sweepExpired({ ...s.deps, rateLimiter }, { retainMs: MINUTE });
    } finally {
      await rateLimiter.close();
    }
    const keys = (await s.deps.db.select({ key: rateLimitCounters.key }).from(rateLimitCounters))
      .map((r) => r.key)
      .sort();
    expect(keys).toEqual(['signup:ended-hour', 'signup:live-hour']);
  });

  it('runs on a schedule until stopped', async () => {
    await mint(MINUTE);
    clock.advance(2 * MINUTE);
    const sweeper = new Sweeper(s.deps, { intervalMs: 10, retainMs: 0 });
    try {
      for (let i = 0; i < 200 && (await remainingIds()).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await remainingIds()).toEqual([]);
    } finally {
      await sweeper.stop();
    }
  });
});
