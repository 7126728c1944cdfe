import {
  AuthenticationError,
  BadRequestError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, TestClock } from './support/fixtures.js';
import { useLettaSdk } from './support/letta-sdk.js';
import { useSuite } from './support/suite.js';

const clock = new TestClock();
const s = useSuite({ server: true, clock });
const { sdk } = useLettaSdk(s);

describe('the official Letta SDK against scopekit', () => {
  it('creates, lists with a filter and paging, and deletes client-side tokens', async () => {
    const client = sdk(s.acme.apiKey);
    const created = [];
    for (const agentId of [s.acme.agentId, s.acme.agentId, s.acme.otherAgentId]) {
      created.push(
        await client.accessTokens.create({
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: agentId, access: ['read_messages', 'write_messages'] }],
        }),
      );
    }
    expect(created[0]?.token).toMatch(/^ck-let-/);
    expect(created[0]?.policy.version).toBe('1');

    const firstPage = await client.accessTokens.list({ agentId: s.acme.agentId, limit: 1 });
    expect(firstPage.hasNextPage).toBe(true);
    expect(firstPage.tokens).toHaveLength(1);
    const secondPage = await client.accessTokens.list({
      agentId: s.acme.agentId,
      limit: 1,
      offset: 1,
    });
    expect(secondPage.hasNextPage).toBe(false);
    expect(new Set([firstPage.tokens[0]?.token, secondPage.tokens[0]?.token])).toEqual(
      new Set([created[0]?.token, created[1]?.token]),
    );

    await client.accessTokens.delete(created[0]?.token ?? '');
    const after = await client.accessTokens.list();
    expect(after.tokens.map((t) => t.token).sort()).toEqual(
      [created[1]?.token, created[2]?.token].sort(),
    );
  });

  it('raises AuthenticationError for a malformed key, and for expired and revoked tokens', async () => {
    await expect(sdk('sk-let-not-a-real-key').accessTokens.list()).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    const backend = sdk(s.acme.apiKey);
    const create = () =>
      backend.accessTokens.create({
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
      });
    const retrieve = (token: string) => sdk(token, APP_ORIGIN).agents.retrieve(s.acme.agentId);

    const revoked = await create();
    expect((await retrieve(revoked.token)).id).toBe(s.acme.agentId);
    await backend.accessTokens.delete(revoked.token);
    const afterRevoking = retrieve(revoked.token);
    await expect(afterRevoking).rejects.toBeInstanceOf(AuthenticationError);
    await expect(afterRevoking).rejects.toThrow(/this token has been revoked/);

    const expired = await create();
    expect((await retrieve(expired.token)).id).toBe(s.acme.agentId);
    clock.advance(5 * 60_000);
    const afterExpiry = retrieve(expired.token);
    await expect(afterExpiry).rejects.toBeInstanceOf(AuthenticationError);
    await expect(afterExpiry).rejects.toThrow(/this token expired at/);
  });

  it('raises the SDK error classes for 403 and 400', async () => {
    const { token } = await sdk(s.acme.apiKey).accessTokens.create({
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });
    await expect(sdk(token, APP_ORIGIN).accessTokens.list()).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );

    const bad = sdk(s.acme.apiKey).accessTokens.create({
      hostname: 'chat.example.com',
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });
    await expect(bad).rejects.toBeInstanceOf(BadRequestError);
    await expect(bad).rejects.toThrow(/hostname/);
  });
});
