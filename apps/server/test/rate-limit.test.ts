import { count, eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { rateLimitCounters } from '../src/db/schema.js';
import { RateLimiter } from '../src/infra/rate-limiter.js';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({
  server: true,
  clock,
  limits: { clientTokenPerMinute: 3, apiKeyPerMinute: 5 },
});

// Counts are per aligned minute: each test starts early in a window of its own.
beforeEach(() => clock.startOfWindow());

const get = (path: string, key: string) =>
  fetch(`${s.server.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${key}`, origin: APP_ORIGIN },
  });

describe('rate limits per credential', () => {
  it('answers 429 with Retry-After once an API key spends its minute, over REST and tRPC', async () => {
    for (let i = 0; i < 5; i++)
      expect((await get('/v1/client-side-access-tokens', s.acme.apiKey)).status).toBe(200);
    const limited = await get('/v1/client-side-access-tokens', s.acme.apiKey);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toMatchObject({
      error: 'Too Many Requests',
      message: expect.stringMatching(
        /Rate limit of 5 requests per minute exceeded for this API key/,
      ),
    });
    const viaTrpc = await get('/trpc/tokens.list', s.acme.apiKey);
    expect(viaTrpc.status).toBe(429);
    expect(viaTrpc.headers.get('retry-after')).not.toBeNull();
  });

  it('gives each client-side token its own budget', async () => {
    const mint = () =>
      fetch(`${s.server.baseUrl}/v1/client-side-access-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
        }),
      }).then((r) => r.json() as Promise<{ token: string }>);
    const [a, b] = [await mint(), await mint()];
    for (let i = 0; i < 3; i++)
      expect((await get(`/v1/agents/${s.acme.agentId}`, a.token)).status).toBe(200);
    expect((await get(`/v1/agents/${s.acme.agentId}`, a.token)).status).toBe(429);
    expect((await get(`/v1/agents/${s.acme.agentId}`, b.token)).status).toBe(200);
  });
});

describe('RateLimiter shared through the database', () => {
  it('holds one limit across instances once they sync', async () => {
    const now = () => new Date('2030-01-01T00:00:10Z');
    const rule = { limit: 5, windowMs: 60_000 };
    const instanceA = new RateLimiter(s.database.db, now, 60_000);
    const instanceB = new RateLimiter(s.database.db, now, 60_000);
    for (let i = 0; i < 3; i++) expect(instanceA.consume('token:t', rule).allowed).toBe(true);
    for (let i = 0; i < 2; i++) expect(instanceB.consume('token:t', rule).allowed).toBe(true);
    await instanceA.sync();
    await instanceB.sync();
    expect(instanceB.consume('token:t', rule)).toEqual({ allowed: false, retryAfterSeconds: 50 });
    await instanceA.sync();
    expect(instanceA.consume('token:t', rule).allowed).toBe(false);
    expect(instanceA.consume('token:other', rule).allowed).toBe(true);
    await Promise.all([instanceA.close(), instanceB.close()]);
  });

  it('starts afresh in the next window', () => {
    let at = new Date('2030-01-01T00:00:59Z');
    const limiter = new RateLimiter(undefined, () => at);
    const rule = { limit: 1, windowMs: 60_000 };
    expect(limiter.consume('k', rule).allowed).toBe(true);
    expect(limiter.consume('k', rule)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    at = new Date('2030-01-01T00:01:00Z');
    expect(limiter.consume('k', rule).allowed).toBe(true);
  });

  it('writes only the keys counted since the last sync, and still learns the others', async () => {
    const now = () => new Date('2030-01-01T00:02:10Z');
    const rule = { limit: 5, windowMs: 60_000 };
    const instanceA = new RateLimiter(s.database.db, now, 60_000);
    const instanceB = new RateLimiter(s.database.db, now, 60_000);
    instanceA.consume('token:idle', rule);
    instanceA.consume('token:busy', rule);
    await instanceA.sync();
    const versionOf = async (key: string) =>
      (
        await s.database.db
          .select({ xmin: sql<string>`xmin::text`, count: rateLimitCounters.count })
          .from(rateLimitCounters)
          .where(eq(rateLimitCounters.key, `${key}|60000`))
      )[0];
    const idleBefore = await versionOf('token:idle');
    for (let i = 0; i < 3; i++) {
      instanceA.consume('token:busy', rule);
      await instanceA.sync();
    }
    expect(await versionOf('token:idle')).toEqual(idleBefore);
    expect((await versionOf('token:busy'))?.count).toBe(4);
    for (let i = 0; i < 4; i++) instanceB.consume('token:idle', rule);
    await instanceB.sync();
    await instanceA.sync();
    expect(instanceA.consume('token:idle', rule).allowed).toBe(false);
    await Promise.all([instanceA.close(), instanceB.close()]);
  });

  it('syncs more keys than PostgreSQL allows parameters in one statement', async () => {
    const now = () => new Date('2030-01-01T00:03:10Z');
    const rule = { limit: 2, windowMs: 60_000 };
    const instanceA = new RateLimiter(s.database.db, now, 60_000);
    const instanceB = new RateLimiter(s.database.db, now, 60_000);
    const keys = Array.from({ length: 22_500 }, (_, i) => `token:${i}`);
    for (const key of keys) instanceA.consume(key, rule);
    for (const key of keys) instanceB.consume(key, rule);
    await instanceA.sync();
    await instanceB.sync();
    const [stored] = await s.database.db
      .select({ rows: count(), total: sql<number>`sum(${rateLimitCounters.count})::int` })
      .from(rateLimitCounters);
    expect(stored).toEqual({ rows: 22_500, total: 45_000 });
    expect(instanceB.consume('token:22499', rule).allowed).toBe(false);
    await instanceA.sync();
    expect(instanceA.consume('token:0', rule).allowed).toBe(false);
    await Promise.all([instanceA.close(), instanceB.close()]);
  });

  it('warns once when syncing fails, keeps the counts, and says when it recovers', async () => {
    const now = () => new Date('2030-01-01T00:04:10Z');
    const rule = { limit: 5, windowMs: 60_000 };
    const warnings: string[] = [];
    const limiter = new RateLimiter(s.database.db, now, 60_000, (m) => warnings.push(m));
    await s.database.db.execute(sql`alter table rate_limit_counters rename to rate_limit_away`);
    try {
      limiter.consume('token:t', rule);
      await expect(limiter.sync()).rejects.toThrow();
      limiter.consume('token:t', rule);
      await expect(limiter.sync()).rejects.toThrow();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/Rate-limit sync failed \(42P01\); limits hold per instance/);
      expect(warnings[0]).not.toContain('token:t');
    } finally {
      await s.database.db.execute(sql`alter table rate_limit_away rename to rate_limit_counters`);
    }
    await limiter.sync();
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/recovered/);
    const [row] = await s.database.db.select().from(rateLimitCounters);
    expect(row?.count).toBe(2);
    await limiter.close();
  });

  it('forgets the counters of windows that ended', () => {
    let at = new Date('2030-01-01T00:00:00Z').getTime();
    const limiter = new RateLimiter(undefined, () => new Date(at));
    const rule = { limit: 10, windowMs: 60_000 };
    for (let minute = 0; minute < 5; minute++) {
      for (let i = 0; i < 1_000; i++) limiter.consume(`login:10.0.${minute}.${i}`, rule);
      expect(limiter.size).toBe(1_000);
      at += 60_000;
    }
    limiter.consume('token:t', rule);
    expect(limiter.size).toBe(1);
  });
});
