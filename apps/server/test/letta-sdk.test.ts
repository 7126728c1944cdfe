import Letta, {
  AuthenticationError,
  BadRequestError,
  PermissionDeniedError,
} from '@letta-ai/letta-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
} from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
let acme: SeededOrganization;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
  server = await startTestServer(deps);
});
afterAll(async () => {
  await server.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  acme = await seedOrganization(deps, 'acme');
});

const sdk = (apiKey: string, origin?: string) =>
  new Letta({
    apiKey,
    baseURL: server.baseUrl,
    maxRetries: 0,
    defaultHeaders: origin ? { Origin: origin } : undefined,
  });

describe('the official Letta SDK against scopekit', () => {
  it('creates, lists with a filter and paging, and deletes client-side tokens', async () => {
    const client = sdk(acme.apiKey);
    const created = [];
    for (const agentId of [acme.agentId, acme.agentId, acme.otherAgentId]) {
      created.push(
        await client.accessTokens.create({
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: agentId, access: ['read_messages', 'write_messages'] }],
        }),
      );
    }
    expect(created[0]?.token).toMatch(/^ck-let-/);
    expect(created[0]?.policy.version).toBe('1');

    const firstPage = await client.accessTokens.list({ agentId: acme.agentId, limit: 1 });
    expect(firstPage.hasNextPage).toBe(true);
    expect(firstPage.tokens).toHaveLength(1);
    const secondPage = await client.accessTokens.list({
      agentId: acme.agentId,
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

    const { token } = await sdk(acme.apiKey).accessTokens.create({
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    });
    await expect(sdk(token, APP_ORIGIN).accessTokens.list()).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );

    const bad = sdk(acme.apiKey).accessTokens.create({
      hostname: 'chat.example.com',
      policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    });
    await expect(bad).rejects.toBeInstanceOf(BadRequestError);
    await expect(bad).rejects.toThrow(/hostname/);
  });
});
