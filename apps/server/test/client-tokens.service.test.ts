import { type PolicyEntry, parseToken, RESOURCE_TYPES } from '@scopekit/policy';
import { count, eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSession, resolveSession } from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import { createAgent } from '../src/agents/agent-write.js';
import { hashToken } from '../src/crypto/hash.js';
import { clientTokens } from '../src/db/schema.js';
import { AppError } from '../src/errors.js';
import { listClientTokens } from '../src/tokens/client-token-listing.js';
import {
  revokeClientTokenById,
  revokeClientTokenByValue,
} from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import {
  APP_ORIGIN,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ clock });
let globex: SeededOrganization;

beforeEach(async () => {
  globex = await seedOrganization(s.deps, 'globex');
});

const tokenCount = async () => (await s.deps.db.select({ n: count() }).from(clientTokens))[0]?.n;

async function expectAppError(promise: Promise<unknown>, code: string, pattern: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  expect((error as AppError).message).toMatch(pattern);
}

describe('mintClientToken', () => {
  it('mints a well-formed ck-let- token that expires in five minutes by default', async () => {
    const minted = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
      hostname: 'HTTPS://Chat.Example.com:443',
      policy: [
        { type: 'agent', id: s.acme.agentId, access: ['write_messages', 'read_messages'] },
        { type: 'agent', id: s.acme.agentId, access: ['read_messages'] },
      ],
    });
    expect(parseToken(minted.token)).toMatchObject({ ok: true, value: { kind: 'client' } });
    expect(minted.hostname).toBe(APP_ORIGIN);
    expect(minted.policy).toEqual({
      version: '1',
      data: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages', 'write_messages'] }],
    });
    expect(minted.expiresIn).toBeGreaterThanOrEqual(299);
    expect(minted.expiresIn).toBeLessThanOrEqual(300);
    expect(new Date(minted.expiresAt).getTime() - new Date(minted.createdAt).getTime()).toBe(
      300_000,
    );
  });

  it('stores only a hash and a ciphertext: the row never holds the token in plaintext', async () => {
    const minted = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages'] }],
    });
    const [row] = await s.deps.db.select().from(clientTokens).where(eq(clientTokens.id, minted.id));
    expect(row?.tokenHash).toBe(hashToken(minted.token));
    const secret = minted.token.slice('ck-let-'.length);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(s.deps.secrets.open(row?.tokenCiphertext ?? '', minted.id)).toBe(minted.token);
  });

  it('refuses agents outside the organization and names the policy entry, storing nothing', async () => {
    await expectAppError(
      mintClientToken(s.deps, {
        organizationId: s.acme.organizationId,
        issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
        hostname: APP_ORIGIN,
        // Normalisation merges the first two entries; the message still points at the third.
        policy: [
          { type: 'agent', id: s.acme.agentId, access: ['read_messages'] },
          { type: 'agent', id: s.acme.agentId, access: ['read_agent'] },
          { type: 'agent', id: globex.agentId, access: ['read_messages'] },
        ],
      }),
      'BAD_REQUEST',
      new RegExp(
        `^policy\\[2\\]\\.id: agent ${globex.agentId} does not exist in your organization$`,
      ),
    );
    expect(await tokenCount()).toBe(0);
  });

  it('lets an API key grant every access on every agent of its organization', async () => {
    const everything = [...RESOURCE_TYPES.agent];
    const minted = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
      hostname: APP_ORIGIN,
      policy: [
        { type: 'agent', id: s.acme.otherAgentId, access: everything },
        { type: 'agent', id: s.acme.agentId, access: everything },
      ],
    });
    expect(minted.policy.data.map((entry) => entry.access)).toEqual([everything, everything]);
  });

  describe('for a log-in session', () => {
    const sessionIssuer = async () => {
      const user = await signUp(s.deps, { username: 'sam', password: 'a long password' });
      const { sessionId } = await createSession(s.deps, { userId: user.id });
      const session = await resolveSession(s.deps, { sessionId });
      if (!session) throw new Error('a new session does not resolve');
      return {
        organizationId: user.organizationId,
        agentId: user.agentId,
        issuer: {
          kind: 'session' as const,
          sessionIdHash: session.sessionIdHash,
          agentId: user.agentId,
        },
      };
    };

    it('grants what a session may: its user’s agent, to chat with and to read', async () => {
      const { organizationId, agentId, issuer } = await sessionIssuer();
      const minted = await mintClientToken(s.deps, {
        organizationId,
        issuer,
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: agentId, access: ['read_agent', 'read_messages'] }],
      });
      expect(minted.policy.data).toEqual([
        { type: 'agent', id: agentId, access: ['read_messages', 'read_agent'] },
      ]);
    });

    it('refuses more, naming the entry and the access, and stores nothing', async () => {
      const { organizationId, agentId, issuer } = await sessionIssuer();
      const mint = (policy: PolicyEntry[]) =>
        mintClientToken(s.deps, { organizationId, issuer, hostname: APP_ORIGIN, policy });
      await expectAppError(
        mint([
          { type: 'agent', id: agentId, access: ['read_messages'] },
          { type: 'agent', id: agentId, access: ['read_agent', 'write_agent'] },
        ]),
        'BAD_REQUEST',
        /^policy\[1\]\.access\[1\]: a log-in session may grant only read_messages, write_messages, read_agent on its user's agent, not write_agent$/,
      );
      // Another agent of the same organization is not the user's.
      const other = await createAgent(s.deps, { organizationId, name: 'not sam’s' });
      await expectAppError(
        mint([
          { type: 'agent', id: agentId, access: ['read_messages'] },
          { type: 'agent', id: other.id, access: ['read_messages'] },
        ]),
        'BAD_REQUEST',
        new RegExp(`^policy\\[1\\]\\.id: agent ${other.id} is not your own agent$`),
      );
      expect(await tokenCount()).toBe(0);
    });
  });

  it.each([
    ['a past expiry', { expiresAt: new Date(Date.now() - 1000).toISOString() }, /^expires_at: /],
    [
      'an expiry beyond the maximum',
      { expiresAt: new Date(Date.now() + 2 * 86_400_000).toISOString() },
      /^expires_at: /,
    ],
    ['a hostname with a trailing slash', { hostname: 'https://chat.example.com/' }, /^hostname: /],
    ['a hostname that is not http(s)', { hostname: 'ftp://chat.example.com' }, /^hostname: /],
  ])('refuses %s with a 400 naming the field', async (_name, override, pattern) => {
    await expectAppError(
      mintClientToken(s.deps, {
        organizationId: s.acme.organizationId,
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages'] }],
        ...override,
      }),
      'BAD_REQUEST',
      pattern,
    );
    expect(await tokenCount()).toBe(0);
  });
});

describe('listClientTokens', () => {
  const mint = (agentId: string, org = s.acme) =>
    mintClientToken(s.deps, {
      organizationId: org.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: agentId, access: ['read_messages'] }],
    });

  it('filters by agent, pages newest first and says whether there is more', async () => {
    const forAgent = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      forAgent.push(await mint(s.acme.agentId));
      await mint(s.acme.otherAgentId);
    }
    await mint(globex.agentId, globex);

    const first = await listClientTokens(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      limit: 2,
      offset: 0,
    });
    expect(first.hasNextPage).toBe(true);
    expect(first.tokens.map((t) => t.id)).toEqual([forAgent[4]?.id, forAgent[3]?.id]);
    expect(first.tokens[0]?.token).toBe(forAgent[4]?.token);

    const last = await listClientTokens(s.deps, {
      organizationId: s.acme.organizationId,
      agentId: s.acme.agentId,
      limit: 2,
      offset: 4,
    });
    expect(last.hasNextPage).toBe(false);
    expect(last.tokens.map((t) => t.id)).toEqual([forAgent[0]?.id]);

    const all = await listClientTokens(s.deps, {
      organizationId: s.acme.organizationId,
      limit: 100,
      offset: 0,
    });
    expect(all.tokens).toHaveLength(10);
  });

  it('leaves out revoked and expired tokens', async () => {
    const revoked = await mint(s.acme.agentId);
    const live = await mint(s.acme.agentId);
    await revokeClientTokenById(s.deps, { organizationId: s.acme.organizationId, id: revoked.id });
    const page = await listClientTokens(s.deps, {
      organizationId: s.acme.organizationId,
      limit: 10,
      offset: 0,
    });
    expect(page.tokens.map((t) => t.id)).toEqual([live.id]);
    clock.advance(5 * 60_000 + 1);
    const later = await listClientTokens(s.deps, {
      organizationId: s.acme.organizationId,
      limit: 10,
      offset: 0,
    });
    expect(later.tokens).toEqual([]);
  });

  it.each([
    [{ limit: 0, offset: 0 }, /^limit: /],
    [{ limit: 101, offset: 0 }, /^limit: /],
    [{ limit: 10, offset: -1 }, /^offset: /],
  ])('refuses paging %o', async (paging, pattern) => {
    await expectAppError(
      listClientTokens(s.deps, { organizationId: s.acme.organizationId, ...paging }),
      'BAD_REQUEST',
      pattern,
    );
  });
});

describe('revoking', () => {
  it('revokes by id or by value, erases the ciphertext, and only within the organization', async () => {
    const policy = [
      { type: 'agent' as const, id: s.acme.agentId, access: ['read_messages' as const] },
    ];
    const a = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy,
    });
    const b = await mintClientToken(s.deps, {
      organizationId: s.acme.organizationId,
      hostname: APP_ORIGIN,
      policy,
    });

    await expectAppError(
      revokeClientTokenById(s.deps, { organizationId: globex.organizationId, id: a.id }),
      'NOT_FOUND',
      /No live token/,
    );
    await expectAppError(
      revokeClientTokenByValue(s.deps, { organizationId: globex.organizationId, token: b.token }),
      'NOT_FOUND',
      /No live client-side token/,
    );

    const revokedA = await revokeClientTokenById(s.deps, {
      organizationId: s.acme.organizationId,
      id: a.id,
    });
    const revokedB = await revokeClientTokenByValue(s.deps, {
      organizationId: s.acme.organizationId,
      token: b.token,
    });
    for (const revoked of [revokedA, revokedB]) expect(revoked).not.toHaveProperty('token');
    const rows = await s.deps.db.select().from(clientTokens);
    expect(rows.every((r) => r.revokedAt !== null && r.tokenCiphertext === null)).toBe(true);

    await expectAppError(
      revokeClientTokenById(s.deps, { organizationId: s.acme.organizationId, id: a.id }),
      'NOT_FOUND',
      /No live token/,
    );
    await expectAppError(
      revokeClientTokenByValue(s.deps, {
        organizationId: s.acme.organizationId,
        token: 'ck-let-nope',
      }),
      'BAD_REQUEST',
      /^token: /,
    );
  });
});
