import { beforeEach, describe, expect, it } from 'vitest';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { APP_ORIGIN, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { trpcError } from './support/trpc-error.js';

const s = useSuite();
let globex: SeededOrganization;

const createCaller = createCallerFactory(appRouter);
const callerFor = (credential: string | undefined, origin?: string) =>
  createCaller(
    createContextFromHeaders(s.deps, {
      authorization: credential ? `Bearer ${credential}` : undefined,
      origin,
    }),
  );

beforeEach(async () => {
  globex = await seedOrganization(s.deps, 'globex');
});

describe('tokens router', () => {
  it('creates, lists and revokes tokens with an API key', async () => {
    const api = callerFor(s.acme.apiKey);
    const created = await api.tokens.create({
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages', 'read_agent'] }],
    });
    expect(created.token).toMatch(/^ck-let-/);
    expect(created.expiresIn).toBeGreaterThan(290);

    const listed = await api.tokens.list({ agentId: s.acme.agentId });
    expect(listed).toMatchObject({
      hasNextPage: false,
      tokens: [{ id: created.id, token: created.token }],
    });
    expect(await api.tokens.list({ agentId: s.acme.otherAgentId })).toEqual({
      hasNextPage: false,
      tokens: [],
    });

    const viaToken = callerFor(created.token, APP_ORIGIN);
    expect(await viaToken.agents.retrieve({ agentId: s.acme.agentId })).toMatchObject({
      id: s.acme.agentId,
    });

    await api.tokens.revoke({ id: created.id });
    expect((await api.tokens.list()).tokens).toEqual([]);
    expect((await trpcError(viaToken.agents.retrieve({ agentId: s.acme.agentId }))).code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('keeps client-side tokens away from token management', async () => {
    const { token } = await callerFor(s.acme.apiKey).tokens.create({
      hostname: APP_ORIGIN,
      policy: [
        {
          type: 'agent',
          id: s.acme.agentId,
          access: ['read_messages', 'write_messages', 'read_agent', 'write_agent'],
        },
      ],
    });
    const error = await trpcError(callerFor(token, APP_ORIGIN).tokens.list());
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/needs a server-side API key/);
  });

  it('refuses a token on an agent its policy does not name', async () => {
    const { token } = await callerFor(s.acme.apiKey).tokens.create({
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });
    const error = await trpcError(
      callerFor(token, APP_ORIGIN).agents.retrieve({ agentId: s.acme.otherAgentId }),
    );
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe(
      `This token does not grant read_agent on agent ${s.acme.otherAgentId}`,
    );
  });

  it('answers 401 without a credential', async () => {
    expect((await trpcError(callerFor(undefined).tokens.list())).code).toBe('UNAUTHORIZED');
  });

  it('answers BAD_REQUEST naming the field, and stores nothing', async () => {
    const api = callerFor(s.acme.apiKey);
    // What a caller without our types could send: an access kind that does not exist.
    const untyped: unknown = {
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['delete_agent'] }],
    };
    const badAccess = await trpcError(api.tokens.create(untyped as never));
    expect(badAccess.code).toBe('BAD_REQUEST');
    expect(badAccess.message).toMatch(/^policy\[0\]\.access\[0\]: /);

    const foreign = await trpcError(
      api.tokens.create({
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: globex.agentId, access: ['read_agent'] }],
      }),
    );
    expect(foreign.code).toBe('BAD_REQUEST');
    expect(foreign.message).toMatch(
      /^policy\[0\]\.id: agent .* does not exist in your organization/,
    );

    // Named as tRPC's input names it, not as REST's body does (`expires_at`).
    const past = await trpcError(
      api.tokens.create({
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      }),
    );
    expect(past.code).toBe('BAD_REQUEST');
    expect(past.message).toMatch(/^expiresAt: /);

    expect((await trpcError(api.tokens.list({ limit: 500 }))).message).toMatch(/^limit: /);
    // The same deepest page as REST allows.
    expect((await trpcError(api.tokens.list({ offset: 1_000_001 }))).message).toMatch(/^offset: /);
    expect((await trpcError(api.tokens.revoke({ id: 'tok-missing' }))).code).toBe('NOT_FOUND');
    expect((await api.tokens.list()).tokens).toEqual([]);
  });
});
