import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { CREDENTIAL_REVOKED_CHANNEL, TokenCache } from '../src/auth/token-cache.js';
import { verifyBearer } from '../src/auth/verify-bearer.js';
import { hashToken } from '../src/crypto/hash.js';
import { apiKeys, clientTokens } from '../src/db/schema.js';
import { revokeApiKey } from '../src/tokens/api-keys.js';
import { revokeClientTokenByValue } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ clock });
let token: string;

beforeEach(async () => {
  ({ token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    expiresAt: new Date(clock.now().getTime() + 10 * 60_000),
  }));
});

const useToken = () =>
  verifyBearer(s.deps, { authorization: `Bearer ${token}`, origin: APP_ORIGIN });
const useKey = () =>
  verifyBearer(s.deps, { authorization: `Bearer ${s.acme.apiKey}`, origin: undefined });

/** Waits for a notice to be acted on; a test that never sees it fails by its timeout. */
async function until(condition: () => boolean) {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Rows changed behind the services' back: the only way to see, with a real database and no
 * instrumentation, whether a verification read the database or the cache.
 */
const eraseTokenRows = () => s.deps.db.delete(clientTokens);
const eraseKeyRows = async () => {
  await s.deps.db.delete(clientTokens);
  await s.deps.db.update(apiKeys).set({ tokenHash: 'gone' });
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
      verifyBearer(s.deps, {
        authorization: `Bearer ${token}`,
        origin: 'https://evil.example.com',
      }),
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
    await revokeClientTokenByValue(s.deps, { organizationId: s.acme.organizationId, token });
    await expect(useToken()).rejects.toMatchObject({
      message: 'Invalid API Key: this token has been revoked',
    });
    await revokeApiKey(s.deps, { organizationId: s.acme.organizationId, id: s.acme.apiKeyId });
    await expect(useKey()).rejects.toMatchObject({
      message: 'Invalid API Key: this key has been revoked',
    });
  });

  it('evicts what another instance announces on the bus', async () => {
    const stop = await s.deps.tokenCache.listen(s.deps.bus);
    try {
      await useToken();
      expect(s.deps.tokenCache.get(hashToken(token))).toBeDefined();
      await s.deps.bus.publish(CREDENTIAL_REVOKED_CHANNEL, { hash: hashToken(token) });
      await until(() => !s.deps.tokenCache.get(hashToken(token)));
      expect(s.deps.tokenCache.get(hashToken(token))).toBeUndefined();
    } finally {
      await stop();
    }
  });

  it('tells another instance of every token a revoked key takes, however many', async () => {
    const other = new TokenCache({ now: clock.now });
    const stop = await other.listen(s.deps.bus);
    try {
      const hashes: string[] = [];
      for (let i = 0; i < 300; i++) {
        const minted = await mintClientToken(s.deps, {
          organizationId: s.acme.organizationId,
          issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
        });
        const hash = hashToken(minted.token);
        hashes.push(hash);
        // The other instance holds each, as it would after serving it.
        const credential = {
          kind: 'clientToken' as const,
          id: minted.id,
          organizationId: s.acme.organizationId,
          policy: minted.policy,
          hostname: minted.hostname,
          expiresAt: new Date(minted.expiresAt),
        };
        other.set(hash, credential, other.generation());
      }
      expect(other.size).toBe(hashes.length);
      await revokeApiKey(s.deps, { organizationId: s.acme.organizationId, id: s.acme.apiKeyId });
      await until(() => other.size === 0);
      expect(hashes.filter((hash) => other.get(hash))).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('acts once on its own revocation: its notice coming back is skipped', async () => {
    const stop = await s.deps.tokenCache.listen(s.deps.bus);
    try {
      let evictions = 0;
      s.deps.tokenCache.watch(hashToken(token), () => evictions++);
      await revokeClientTokenByValue(s.deps, { organizationId: s.acme.organizationId, token });
      expect(evictions).toBe(1);
      // Notices arrive in the order they were sent: once this later one is heard, the
      // revocation's own has been too.
      let heard = false;
      s.deps.tokenCache.watch('later-notice', () => {
        heard = true;
      });
      await s.deps.bus.publish(CREDENTIAL_REVOKED_CHANNEL, { hash: 'later-notice' });
      await until(() => heard);
      expect(evictions).toBe(1);
    } finally {
      await stop();
    }
  });

  it('does not store a read that a revocation overtook', async () => {
    const generation = s.deps.tokenCache.generation();
    const [row] = await s.deps.db
      .select()
      .from(clientTokens)
      .where(eq(clientTokens.tokenHash, hashToken(token)));
    if (!row) throw new Error('token row missing');
    // The revocation commits and evicts while the read above is still on its way back.
    s.deps.tokenCache.evict(hashToken(token));
    s.deps.tokenCache.set(hashToken(token), { kind: 'clientToken', ...row }, generation);
    expect(s.deps.tokenCache.get(hashToken(token))).toBeUndefined();
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

  it('finds a credential by the value it was verified with, only while its entry lives', () => {
    const cache = new TokenCache({ now: clock.now, max: 1 });
    cache.set('hash-a', credential('a'), cache.generation(), 'value-a');
    expect(cache.lookup('value-a')).toMatchObject({
      hash: 'hash-a',
      credential: credential('a'),
      principal: { kind: 'apiKey', apiKeyId: 'a', organizationId: 'org' },
    });
    cache.evict('hash-a');
    expect(cache.lookup('value-a')).toBeUndefined();
    cache.set('hash-a', credential('a'), cache.generation(), 'value-a');
    // Pushed out by another: its value is dropped with it, and a later entry under the same
    // hash without the value does not bring it back.
    cache.set('hash-b', credential('b'), cache.generation(), 'value-b');
    cache.set('hash-a', credential('a'), cache.generation());
    expect(cache.lookup('value-a')).toBeUndefined();
    cache.clear();
    expect(cache.lookup('value-b')).toBeUndefined();
  });
});
