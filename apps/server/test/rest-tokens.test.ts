import { mintedTokenRecordSchema, tokenRecordSchema } from '@scopekit/policy';
import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clientTokens } from '../src/db/schema.js';
import type { ErrorBody } from '../src/http/errors.js';
import { createApiKey, revokeApiKey } from '../src/tokens/api-keys.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { trpcError } from './support/trpc-error.js';

const s = useSuite({ server: true });

function call(path: string, init: RequestInit & { key?: string; origin?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set('authorization', `Bearer ${init.key}`);
  if (init.origin) headers.set('origin', init.origin);
  if (typeof init.body === 'string' && !headers.has('content-type'))
    headers.set('content-type', 'application/json');
  return fetch(`${s.server.baseUrl}${path}`, { ...init, headers });
}

const createBody = (agentId: string, extra: object = {}) =>
  JSON.stringify({
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: agentId, access: ['read_agent'] }],
    ...extra,
  });

const tokenOf = async (response: Response) => tokenRecordSchema.parse(await response.json());
const tokenListSchema = z.strictObject({
  hasNextPage: z.boolean(),
  tokens: z.array(tokenRecordSchema),
});
const errorOf = async (response: Response) => (await response.json()) as ErrorBody;

const tokenCount = async () => (await s.deps.db.select({ n: count() }).from(clientTokens))[0]?.n;

describe('REST /v1/client-side-access-tokens', () => {
  it('creates (201), lists and deletes (204) in Letta shapes', async () => {
    const created = await call('/v1/client-side-access-tokens', {
      method: 'POST',
      key: s.acme.apiKey,
      body: createBody(s.acme.agentId),
    });
    expect(created.status).toBe(201);
    const createdBody: unknown = await created.json();
    // Letta's record, and the seconds it has left by the server's clock.
    const { expiresIn, ...token } = mintedTokenRecordSchema.parse(createdBody);
    expect(Object.keys(createdBody as object).sort()).toEqual([
      'expiresAt',
      'expiresIn',
      'hostname',
      'policy',
      'token',
    ]);
    expect(expiresIn).toBeGreaterThanOrEqual(299);
    expect(expiresIn).toBeLessThanOrEqual(300);
    expect(token.policy).toEqual({
      version: '1',
      data: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    });

    const listed = await call(`/v1/client-side-access-tokens?agentId=${s.acme.agentId}&limit=1`, {
      key: s.acme.apiKey,
    });
    expect(listed.status).toBe(200);
    const listedBody: unknown = await listed.json();
    expect(tokenListSchema.parse(listedBody)).toEqual({ hasNextPage: false, tokens: [token] });
    // Exactly Letta's fields, nothing beside them.
    expect(listedBody).toEqual({ hasNextPage: false, tokens: [token] });

    const agent = await call(`/v1/agents/${s.acme.agentId}`, {
      key: token.token,
      origin: APP_ORIGIN,
    });
    expect(agent.status).toBe(200);

    const deleted = await call(`/v1/client-side-access-tokens/${token.token}`, {
      method: 'DELETE',
      key: s.acme.apiKey,
    });
    expect(deleted.status).toBe(204);

    const refused = await call(`/v1/agents/${s.acme.agentId}`, {
      key: token.token,
      origin: APP_ORIGIN,
    });
    expect(refused.status).toBe(401);
    expect(await errorOf(refused)).toEqual({
      error: 'Unauthorized',
      message: 'Invalid API Key: this token has been revoked',
    });

    const again = await call(`/v1/client-side-access-tokens/${token.token}`, {
      method: 'DELETE',
      key: s.acme.apiKey,
    });
    expect(again.status).toBe(404);
  });

  it('revoking an API key revokes the tokens it minted, even ones already cached', async () => {
    const other = await createApiKey(s.deps, {
      organizationId: s.acme.organizationId,
      name: 'other backend',
    });
    const mintWith = async (key: string) => {
      const created = await call('/v1/client-side-access-tokens', {
        method: 'POST',
        key,
        body: createBody(s.acme.agentId),
      });
      expect(created.status).toBe(201);
      return (await tokenOf(created)).token;
    };
    const minted = await mintWith(s.acme.apiKey);
    const kept = await mintWith(other.key);
    const retrieve = (token: string) =>
      call(`/v1/agents/${s.acme.agentId}`, { key: token, origin: APP_ORIGIN });
    // Used once first, so the next check is answered from the credential cache.
    expect((await retrieve(minted)).status).toBe(200);
    expect((await retrieve(kept)).status).toBe(200);

    await revokeApiKey(s.deps, { organizationId: s.acme.organizationId, id: s.acme.apiKeyId });

    const refused = await retrieve(minted);
    expect(refused.status).toBe(401);
    expect(await errorOf(refused)).toEqual({
      error: 'Unauthorized',
      message: 'Invalid API Key: this token has been revoked',
    });
    expect((await retrieve(kept)).status).toBe(200);
    const rows = await s.deps.db
      .select({ ciphertext: clientTokens.tokenCiphertext, revokedAt: clientTokens.revokedAt })
      .from(clientTokens)
      .where(eq(clientTokens.apiKeyId, s.acme.apiKeyId));
    expect(rows).toEqual([{ ciphertext: null, revokedAt: expect.any(Date) }]);
  });

  it('answers 401 and 403 with Letta error bodies', async () => {
    const missing = await call('/v1/client-side-access-tokens');
    expect(missing.status).toBe(401);
    expect(await errorOf(missing)).toMatchObject({
      error: 'Unauthorized',
      message: expect.stringMatching(/Authorization/),
    });

    const created = await tokenOf(
      await call('/v1/client-side-access-tokens', {
        method: 'POST',
        key: s.acme.apiKey,
        body: createBody(s.acme.agentId),
      }),
    );
    const forbidden = await call('/v1/client-side-access-tokens', {
      key: created.token,
      origin: APP_ORIGIN,
    });
    expect(forbidden.status).toBe(403);
    expect(await errorOf(forbidden)).toMatchObject({
      error: 'Forbidden',
      message: expect.stringMatching(/server-side API key/),
    });

    const noOrigin = await call(`/v1/agents/${s.acme.agentId}`, { key: created.token });
    expect(noOrigin.status).toBe(403);
    expect((await errorOf(noOrigin)).message).toMatch(/no Origin header/);

    const otherAgent = await call(`/v1/agents/${s.acme.otherAgentId}`, {
      key: created.token,
      origin: APP_ORIGIN,
    });
    expect(otherAgent.status).toBe(403);
  });

  it.each([
    ['malformed JSON', '{"hostname":', /JSON/],
    ['an unknown field', createBody('agent-x', { scope: 'all' }), /scope/],
    ['a missing policy', JSON.stringify({ hostname: APP_ORIGIN }), /^policy/],
    ['an empty policy', JSON.stringify({ hostname: APP_ORIGIN, policy: [] }), /^policy/],
    [
      'a bad access kind',
      JSON.stringify({
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: 'a', access: ['own'] }],
      }),
      /^policy\[0\]\.access\[0\]/,
    ],
    [
      'a trailing slash',
      JSON.stringify({
        hostname: `${APP_ORIGIN}/`,
        policy: [{ type: 'agent', id: 'a', access: ['read_agent'] }],
      }),
      /^hostname/,
    ],
    ['a bad expiry', createBody('agent-x', { expires_at: 'tomorrow' }), /^expires_at/],
    ['an unknown agent', createBody('agent-x'), /^policy\[0\]\.id: agent agent-x does not exist/],
  ])('answers 400 for %s, naming it, and stores nothing', async (_name, body, pattern) => {
    const response = await call('/v1/client-side-access-tokens', {
      method: 'POST',
      key: s.acme.apiKey,
      body,
    });
    expect(response.status).toBe(400);
    const json = await errorOf(response);
    expect(json.error).toBe('Bad Request');
    expect(json.message).toMatch(pattern);
    expect(await tokenCount()).toBe(0);
  });

  it.each([
    ['an empty policy', { policy: [] }, { policy: [] }],
    ['a date that is not one', { expires_at: 'tomorrow' }, { expiresAt: 'tomorrow' }],
    ['a policy that is not a list', { policy: 'all' }, { policy: 'all' }],
  ])('refuses %s in the same words as tRPC tokens.create', async (_name, rest, trpc) => {
    const valid = {
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
    };
    const response = await call('/v1/client-side-access-tokens', {
      method: 'POST',
      key: s.acme.apiKey,
      body: JSON.stringify({ ...valid, ...rest }),
    });
    expect(response.status).toBe(400);
    const viaRest = (await errorOf(response)).message;
    const caller = createCallerFactory(appRouter)(
      createContextFromHeaders(s.deps, { authorization: `Bearer ${s.acme.apiKey}` }),
    );
    const viaTrpc = (await trpcError(caller.tokens.create({ ...valid, ...trpc } as never))).message;
    // Each edge names the field as its own input spells it; the rest is word for word.
    const [restField] = Object.keys(rest);
    const [trpcField] = Object.keys(trpc);
    expect(viaRest).toMatch(new RegExp(`^${restField}: \\S`));
    expect(viaTrpc.replace(`${trpcField}: `, `${restField}: `)).toBe(viaRest);
    expect(await tokenCount()).toBe(0);
  });

  it.each([
    ['limit=0', /^limit: must be at least 1$/],
    ['limit=101', /^limit: must be at most 100$/],
    ['limit=ten', /^limit: must be a whole number$/],
    ['offset=-1', /^offset: must be a whole number$/],
    ['offset=1000001', /^offset: must be at most 1000000$/],
    ['colour=blue', /^Unrecognized key: "colour"$/],
  ])('answers 400 for list query %s, naming it', async (query, pattern) => {
    const response = await call(`/v1/client-side-access-tokens?${query}`, { key: s.acme.apiKey });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(pattern);
  });

  it('answers /healthz and unknown routes', async () => {
    expect(await (await call('/healthz')).json()).toEqual({ status: 'ok' });
    const unknown = await call('/v1/nothing');
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toEqual({
      error: 'Not Found',
      message: 'No route GET /v1/nothing',
    });
  });
});
