import { generateToken } from '@scopekit/policy';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/deps.js';
import { buildApp } from '../src/http/app.js';
import { createApiKey } from '../src/tokens/api-keys.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  makeDeps,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';

let database: TestDatabase;
let deps: ServiceDeps;
let app: FastifyInstance;
let base: string;
let acme: SeededOrganization;
const clock = new TestClock();
const LIMIT = 3;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock, { bearerFailuresPerMinute: LIMIT });
  // Behind a proxy on loopback, so each test's client has an address of its own.
  app = await buildApp({ deps, logLevel: 'silent', trustProxy: ['127.0.0.1'] });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  acme = await seedOrganization(deps, 'acme');
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const rest = (client: string, key: string) =>
  fetch(`${base}/v1/agents`, {
    headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client },
  });
const trpc = (client: string, key: string) =>
  fetch(`${base}/trpc/agents.list`, {
    headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client },
  });
/** A token that passes the checksum but that no database holds: what a forger makes. */
const forged = () => generateToken('server');

describe('failed bearer authentications per client address', () => {
  it('refuses an address with 429 and Retry-After once its forged tokens spend the minute, over REST and tRPC', async () => {
    clock.startOfWindow();
    const client = '203.0.113.10';
    expect((await rest(client, acme.apiKey)).status).toBe(200); // now in the token cache
    expect((await rest(client, forged())).status).toBe(401);
    expect((await trpc(client, forged())).status).toBe(401);
    // A bad checksum is refused offline: it costs no read, so it is not counted.
    expect((await rest(client, `sk-let-${'x'.repeat(40)}`)).status).toBe(401);
    expect((await rest(client, forged())).status).toBe(401);
    for (const call of [rest, trpc]) {
      const refused = await call(client, forged());
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await refused.text()).toMatch(/More than 3 failed authentications a minute/);
    }
    // A credential that would need a database read waits too, however good it is...
    const fresh = await createApiKey(deps, { organizationId: acme.organizationId, name: 'new' });
    expect((await rest(client, fresh.key)).status).toBe(429);
    // ...but one the cache holds costs no read, and works on (a NAT neighbour's guesses
    // must not cut it off).
    expect((await rest(client, acme.apiKey)).status).toBe(200);
    expect((await trpc(client, acme.apiKey)).status).toBe(200);
    // Another address is counted apart.
    expect((await rest('203.0.113.11', forged())).status).toBe(401);

    clock.advance(60_000);
    expect((await rest(client, fresh.key)).status).toBe(200);
    expect((await rest(client, forged())).status).toBe(401);
  });

  it('counts parallel guesses before any of them is read, so a burst gets no more', async () => {
    clock.startOfWindow();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => rest('198.51.100.20', forged()).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - LIMIT);
  });

  it('counts an IPv6 client by its /64', async () => {
    clock.startOfWindow();
    for (let i = 1; i <= LIMIT; i++)
      expect((await rest(`2001:db8:5:6::${i}`, forged())).status).toBe(401);
    expect((await rest('2001:db8:5:6::ffff', forged())).status).toBe(429);
    expect((await rest('2001:db8:5:7::1', forged())).status).toBe(401);
  });
});
