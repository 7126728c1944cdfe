import Letta, {
  AuthenticationError,
  BadRequestError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import { describe, expect, it } from 'vitest';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const s = useSuite({ server: true });

const sdk = (apiKey: string, origin?: string) =>
  new Letta({
    apiKey,
    baseURL: s.server.baseUrl,
    maxRetries: 0,
    defaultHeaders: origin ? { Origin: origin } : undefined,
  });

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

  it('raises the SDK error classes for 401, 403 and 400', async () => {
    await expect(sdk('sk-let-not-a-real-key').accessTokens.list()).rejects.toBeInstanceOf(
      AuthenticationError,
    );

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
