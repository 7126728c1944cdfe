import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientTokenAgents, clientTokens, rateLimitCounters } from '../src/db/schema.js';
import { RateLimiter } from '../src/rate-limit/rate-limiter.js';
import { mintClientToken, revokeClientTokenById } from '../src/services/client-tokens.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { sweepExpiredTokens, TokenSweeper } from '../src/services/sweeper.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';

let database: TestDatabase;
let deps: ServiceDeps;
const clock = new TestClock();
let acme: SeededOrganization;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock);
});
afterAll(() => database.close());
beforeEach(async () => {
  clock.reset();
  await database.reset();
  acme = await seedOrganization(deps, 'acme');
});

const mint = (expiresInMs: number) =>
  mintClientToken(deps, {
    organizationId: acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    expiresAt: new Date(clock.now().getTime() + expiresInMs),
  });

const remainingIds = async () =>
  (await deps.db.select({ id: clientTokens.id }).from(clientTokens)).map((r) => r.id).sort();

describe('sweeping expired and revoked tokens', () => {
  it('deletes tokens expired or revoked longer ago than the retention, and nothing else', async () => {
    const live = await mint(3 * HOUR);
    await mint(5 * MINUTE); // expires long before the sweep
    const revokedLongAgo = await mint(3 * HOUR);
    await revokeClientTokenById(deps, {
      organizationId: acme.organizationId,
      id: revokedLongAgo.id,
    });
    clock.advance(HOUR);
    const expiredJustNow = await mint(MINUTE);
    const revokedJustNow = await mint(3 * HOUR);
    await revokeClientTokenById(deps, {
      organizationId: acme.organizationId,
      id: revokedJustNow.id,
    });
    clock.advance(2 * MINUTE);

    const result = await sweepExpiredTokens(deps, { retainMs: 30 * MINUTE });

    expect(result.deletedTokens).toBe(2);
    expect(await remainingIds()).toEqual([live.id, expiredJustNow.id, revokedJustNow.id].sort());
    const agentRows = await deps.db.select().from(clientTokenAgents);
    expect(agentRows.map((r) => r.tokenId).sort()).toEqual(await remainingIds());
  });

  it('splits a backlog between sweeps running at once, deleting each token once', async () => {
    for (let i = 0; i < 25; i++) await mint(MINUTE);
    const keep = await mint(3 * HOUR);
    clock.advance(2 * MINUTE);
    const results = await Promise.all([
      sweepExpiredTokens(deps, { retainMs: 0, batchSize: 4 }),
      sweepExpiredTokens(deps, { retainMs: 0, batchSize: 4 }),
      sweepExpiredTokens(deps, { retainMs: 0, batchSize: 4 }),
    ]);
    expect(results.reduce((sum, r) => sum + r.deletedTokens, 0)).toBe(25);
    expect(await remainingIds()).toEqual([keep.id]);
  });

  it('keeps rate-limit windows for a day, whatever the token retention', async () => {
    const startedAgo = (ms: number) => new Date(clock.now().getTime() - ms);
    await deps.db.insert(rateLimitCounters).values([
      { key: 'signup:live-hour', windowStart: startedAgo(30 * MINUTE), count: 3 },
      { key: 'signup:ended-hour', windowStart: startedAgo(2 * HOUR), count: 3 },
      { key: 'login:long-gone', windowStart: startedAgo(25 * HOUR), count: 3 },
    ]);
    // A limiter that shares its counts through the database, as with several instances.
    const rateLimiter = new RateLimiter(deps.db, clock.now);
    try {
      await sweepExpiredTokens({ ...deps, rateLimiter }, { retainMs: MINUTE });
    } finally {
      await rateLimiter.close();
    }
    const keys = (await deps.db.select({ key: rateLimitCounters.key }).from(rateLimitCounters))
      .map((r) => r.key)
      .sort();
    expect(keys).toEqual(['signup:ended-hour', 'signup:live-hour']);
  });

  it('runs on a schedule until stopped', async () => {
    await mint(MINUTE);
    clock.advance(2 * MINUTE);
    const sweeper = new TokenSweeper(deps, { intervalMs: 10, retainMs: 0 });
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
