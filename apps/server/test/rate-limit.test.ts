import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/rate-limit/rate-limiter.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
let acme: SeededOrganization;
const clock = new TestClock();

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock, { clientTokenPerMinute: 3, apiKeyPerMinute: 5 });
  server = await startTestServer(deps);
});
afterAll(async () => {
  await server.close();
  await database.close();
});
beforeEach(async () => {
  clock.startOfWindow();
  await database.reset();
  acme = await seedOrganization(deps, `acme-${Math.random()}`);
});

const get = (path: string, key: string) =>
  fetch(`${server.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${key}`, origin: APP_ORIGIN },
  });

describe('rate limits per credential', () => {
  it('answers 429 with Retry-After once an API key spends its minute, over REST and tRPC', async () => {
    for (let i = 0; i < 5; i++)
      expect((await get('/v1/client-side-access-tokens', acme.apiKey)).status).toBe(200);
    const limited = await get('/v1/client-side-access-tokens', acme.apiKey);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toMatchObject({
      error: 'Too Many Requests',
      message: expect.stringMatching(
        /Rate limit of 5 requests per minute exceeded for this API key/,
      ),
    });
    const viaTrpc = await get('/trpc/tokens.list', acme.apiKey);
    expect(viaTrpc.status).toBe(429);
    expect(viaTrpc.headers.get('retry-after')).not.toBeNull();
  });

  it('gives each client-side token its own budget', async () => {
    const mint = () =>
      fetch(`${server.baseUrl}/v1/client-side-access-tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
        }),
      }).then((r) => r.json() as Promise<{ token: string }>);
    const [a, b] = [await mint(), await mint()];
    for (let i = 0; i < 3; i++)
      expect((await get(`/v1/agents/${acme.agentId}`, a.token)).status).toBe(200);
    expect((await get(`/v1/agents/${acme.agentId}`, a.token)).status).toBe(429);
    expect((await get(`/v1/agents/${acme.agentId}`, b.token)).status).toBe(200);
  });
});

describe('RateLimiter shared through the database', () => {
  it('holds one limit across instances once they sync', async () => {
    const now = () => new Date('2030-01-01T00:00:10Z');
    const rule = { limit: 5, windowMs: 60_000 };
    const instanceA = new RateLimiter(database.db, now, 60_000);
    const instanceB = new RateLimiter(database.db, now, 60_000);
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
});
