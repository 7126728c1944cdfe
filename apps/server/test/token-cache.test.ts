import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CREDENTIAL_REVOKED_CHANNEL, TokenCache } from '../src/auth/token-cache.js';
import { verifyBearer } from '../src/auth/verify-bearer.js';
import { hashToken } from '../src/crypto/hash.js';
import { apiKeys, clientTokens } from '../src/db/schema.js';
import { revokeApiKey } from '../src/services/api-keys.js';
import { mintClientToken, revokeClientTokenByValue } from '../src/services/client-tokens.js';
import type { ServiceDeps } from '../src/services/deps.js';
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
let token: string;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock);
});
afterAll(() => database.close());
beforeEach(async () => {
  clock.reset();
  deps.tokenCache.clear();
  await database.reset();
  acme = await seedOrganization(deps, 'acme');
  ({ token } = await mintClientToken(deps, {
    organizationId: acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    expiresAt: new Date(clock.now().getTime() + 10 * 60_000),
  }));
});

const useToken = () => verifyBearer(deps, { authorization: `Bearer ${token}`, origin: APP_ORIGIN });
const useKey = () =>
  verifyBearer(deps, { authorization: `Bearer ${acme.apiKey}`, origin: undefined });

/**
 * Rows changed behind the services' back: the only way to see, with a real database and no
 * instrumentation, whether a verification read the database or the cache.
 */
const eraseTokenRows = () => deps.db.delete(clientTokens);
const eraseKeyRows = async () => {
  await deps.db.delete(clientTokens);
  await deps.db.update(apiKeys).set({ tokenHash: 'gone' });
};

describe('token verification cache', () => {
  it('answers a steady client from memory, without reading the database', async () => {
    const first = await useToken();
    await useKey();
    await eraseTokenRows();
    await eraseKeyRows();
    expect(await useToken()).toEqual(first);
    expect((await useKey()).kind).toBe('apiKey');
  });

  it('still checks the origin of a cached token', async () => {
    await useToken();
    await expect(
      verifyBearer(deps, { authorization: `Bearer ${token}`, origin: 'https://evil.example.com' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('never keeps a token past its expiry', async () => {
    await useToken();
    clock.advance(10 * 60_000);
    await expect(useToken()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringMatching(/this token expired at/),
    });
  });

  it('reads the database again once an entry is a minute old', async () => {
    await useToken();
    await eraseTokenRows();
    clock.advance(59_000);
    await useToken();
    clock.advance(1_000);
    await expect(useToken()).rejects.toMatchObject({ message: 'Invalid API Key' });
  });

  it('refuses a revoked token and a revoked key on the next request of this instance', async () => {
    await useToken();
    await useKey();
    await revokeClientTokenByValue(deps, { organizationId: acme.organizationId, token });
    await expect(useToken()).rejects.toMatchObject({
      message: 'Invalid API Key: this token has been revoked',
    });
    await revokeApiKey(deps, { organizationId: acme.organizationId, id: acme.apiKeyId });
    await expect(useKey()).rejects.toMatchObject({
      message: 'Invalid API Key: this key has been revoked',
    });
  });

  it('evicts what another instance announces on the bus', async () => {
    const stop = await deps.tokenCache.listen(deps.bus);
    try {
      await useToken();
      expect(deps.tokenCache.get(hashToken(token))).toBeDefined();
      await deps.bus.publish(CREDENTIAL_REVOKED_CHANNEL, { hash: hashToken(token) });
      for (let i = 0; i < 100 && deps.tokenCache.get(hashToken(token)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(deps.tokenCache.get(hashToken(token))).toBeUndefined();
    } finally {
      await stop();
    }
  });

  it('does not store a read that a revocation overtook', async () => {
    const generation = deps.tokenCache.generation();
    const [row] = await deps.db
      .select()
      .from(clientTokens)
      .where(eq(clientTokens.tokenHash, hashToken(token)));
    if (!row) throw new Error('token row missing');
    // The revocation commits and evicts while the read above is still on its way back.
    deps.tokenCache.evict(hashToken(token));
    deps.tokenCache.set(hashToken(token), { kind: 'clientToken', ...row }, generation);
    expect(deps.tokenCache.get(hashToken(token))).toBeUndefined();
  });
});

describe('TokenCache', () => {
  const credential = (id: string) => ({ kind: 'apiKey' as const, id, organizationId: 'org' });

  it('is bounded, dropping the least recently used', () => {
    const cache = new TokenCache({ now: clock.now, max: 2 });
    cache.set('a', credential('a'), cache.generation());
    cache.set('b', credential('b'), cache.generation());
    cache.get('a');
    cache.set('c', credential('c'), cache.generation());
    expect([cache.get('a')?.id, cache.get('b')?.id, cache.get('c')?.id]).toEqual([
      'a',
      undefined,
      'c',
    ]);
    expect(cache.size).toBe(2);
  });
});
