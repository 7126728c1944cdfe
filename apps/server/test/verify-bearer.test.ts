import { generateToken } from '@scopekit/policy';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyBearer } from '../src/auth/verify-bearer.js';
import { apiKeys, clientTokens } from '../src/db/schema.js';
import { AppError } from '../src/errors.js';
import { revokeApiKey } from '../src/tokens/api-keys.js';
import { revokeClientTokenById } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ clock });
let token: { id: string; token: string };

beforeEach(async () => {
  token = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
  });
});

const bearer = (value: string) => `Bearer ${value}`;

/** The token with its last checksum character changed, always to another character. */
const withWrongChecksum = (value: string) =>
  `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}`;

async function refusal(authorization: string | undefined, origin: string | undefined) {
  const error = await verifyBearer(s.deps, { authorization, origin }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('verifyBearer', () => {
  it('accepts an API key for its organization and records its use', async () => {
    const principal = await verifyBearer(s.deps, {
      authorization: bearer(s.acme.apiKey),
      origin: undefined,
    });
    expect(principal).toEqual({
      kind: 'apiKey',
      organizationId: s.acme.organizationId,
      apiKeyId: s.acme.apiKeyId,
    });
    await s.deps.lastUsed.flush();
    const [row] = await s.deps.db.select().from(apiKeys).where(eq(apiKeys.id, s.acme.apiKeyId));
    expect(row?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('accepts a client token from its own origin, however the origin is spelled', async () => {
    for (const origin of [APP_ORIGIN, 'https://CHAT.example.com', 'https://chat.example.com:443']) {
      const principal = await verifyBearer(s.deps, { authorization: bearer(token.token), origin });
      expect(principal).toMatchObject({
        kind: 'clientToken',
        tokenId: token.id,
        hostname: APP_ORIGIN,
      });
    }
    await s.deps.lastUsed.flush();
    const [row] = await s.deps.db.select().from(clientTokens).where(eq(clientTokens.id, token.id));
    expect(row?.lastUsedAt).toBeInstanceOf(Date);
  });

  it.each([
    ['no header', undefined, /Missing Authorization header/],
    ['another scheme', `Basic ${btoa('a:b')}`, /Malformed Authorization header/],
    ['a wrong prefix', bearer(`xk-let-${'a'.repeat(49)}`), /^Invalid API Key: .* start with/],
    ['a wrong length', bearer('ck-let-abc'), /^Invalid API Key: .* characters long/],
    [
      'a wrong checksum',
      bearer(withWrongChecksum(generateToken('client'))),
      /^Invalid API Key: the token checksum does not match/,
    ],
    ['an unknown token', bearer(generateToken('client')), /^Invalid API Key$/],
    ['an unknown key', bearer(generateToken('server')), /^Invalid API Key$/],
  ])('answers 401 for %s', async (_name, authorization, pattern) => {
    const error = await refusal(authorization, APP_ORIGIN);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(pattern);
  });

  it('refuses a revoked token on the very next request', async () => {
    await verifyBearer(s.deps, { authorization: bearer(token.token), origin: APP_ORIGIN });
    await revokeClientTokenById(s.deps, { organizationId: s.acme.organizationId, id: token.id });
    const error = await refusal(bearer(token.token), APP_ORIGIN);
    expect([error.code, error.message]).toEqual([
      'UNAUTHORIZED',
      'Invalid API Key: this token has been revoked',
    ]);
  });

  it('refuses an expired token', async () => {
    clock.advance(5 * 60_000);
    const error = await refusal(bearer(token.token), APP_ORIGIN);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(/this token expired at/);
  });

  it('refuses a revoked API key on the very next request', async () => {
    await verifyBearer(s.deps, { authorization: bearer(s.acme.apiKey), origin: undefined });
    await revokeApiKey(s.deps, { organizationId: s.acme.organizationId, id: s.acme.apiKeyId });
    const error = await refusal(bearer(s.acme.apiKey), APP_ORIGIN);
    expect([error.code, error.message]).toEqual([
      'UNAUTHORIZED',
      'Invalid API Key: this key has been revoked',
    ]);
  });

  it('refuses a token whose minting key is revoked, even if the revocation missed it', async () => {
    const minted = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });
    // The key revoked behind the services' back, its token row left live.
    await s.deps.db
      .update(apiKeys)
      .set({ revokedAt: clock.now() })
      .where(eq(apiKeys.id, s.acme.apiKeyId));
    const error = await refusal(bearer(minted.token), APP_ORIGIN);
    expect([error.code, error.message]).toEqual([
      'UNAUTHORIZED',
      'Invalid API Key: this token has been revoked',
    ]);
  });

  it('refuses a client token without an Origin, saying why', async () => {
    const error = await refusal(bearer(token.token), undefined);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(
      /bound to https:\/\/chat\.example\.com; the request has no Origin header/,
    );
  });

  it.each([
    'https://evil.example.com',
    'http://chat.example.com',
    'https://chat.example.com:8443',
    'null',
  ])('refuses a client token from origin %s', async (origin) => {
    const error = await refusal(bearer(token.token), origin);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/bound to https:\/\/chat\.example\.com, not to this origin/);
  });
});
