import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, TestClock } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

// Two servers: the app's (session, cookie) and the agent API's, on another origin. The browser learns the agent origin from session.token and spends the token there.
let database: TestDatabase;
let app: TestServer;
let agent: TestServer;

beforeAll(async () => {
  database = await openTestDatabase();
  // One process, two listeners (two origins) sharing its services: as separate processes, the
  // agent API would hear the app's revocations through the PostgreSQL event bus (infra/).
  const deps = makeDeps(database, new TestClock());
  agent = await startTestServer(deps);
  app = await startTestServer({
    ...deps,
    accounts: { ...deps.accounts, agentApiUrl: agent.baseUrl },
  });
});
afterAll(async () => {
  await app?.close();
  await agent?.close();
  await database?.close();
});

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: APP_ORIGIN, ...headers },
    body: JSON.stringify(body),
  });

describe('split deployment', () => {
  it('hands out the agent origin with the token, which works there until log-out', async () => {
    const signUp = await post(app.baseUrl, 'session.signUp', {
      username: 'sigrid',
      password: 'sigrid password',
    });
    const cookie =
      signUp.headers
        .getSetCookie()
        .find((c) => c.startsWith('scopekit_session='))
        ?.split(';')[0] ?? '';
    const minted = (await (await post(app.baseUrl, 'session.token', {}, { cookie })).json()) as {
      result: { data: { token: string; agentId: string; agentApiUrl: string } };
    };
    const { token, agentId, agentApiUrl } = minted.result.data;
    expect(agentApiUrl).toBe(agent.baseUrl);

    const list = () =>
      fetch(
        `${agentApiUrl}/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ agentId }))}`,
        { headers: { authorization: `Bearer ${token}`, origin: APP_ORIGIN } },
      );
    const answer = await list();
    expect(answer.status).toBe(200);
    // Any origin, never with credentials: the token is the only credential.
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();

    const preflight = await fetch(`${agentApiUrl}/trpc/messages.send`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

    await post(app.baseUrl, 'session.logOut', {}, { cookie });
    expect((await list()).status).toBe(401);
  });

  it("lets the app's pages connect to the agent origin, and to no other", async () => {
    const page = await fetch(`${app.baseUrl}/healthz`);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain(`connect-src 'self' ${agent.baseUrl};`);
    const own = await fetch(`${agent.baseUrl}/healthz`);
    expect(own.headers.get('content-security-policy')).toContain("connect-src 'self';");
  });

  it('hands out no agent origin when the agent API is the app itself', async () => {
    const same = await startTestServer(makeDeps(database, new TestClock()));
    try {
      const signUp = await post(same.baseUrl, 'session.signUp', {
        username: 'tove',
        password: 'tove password',
      });
      const cookie =
        signUp.headers
          .getSetCookie()
          .find((c) => c.startsWith('scopekit_session='))
          ?.split(';')[0] ?? '';
      const minted = (await (await post(same.baseUrl, 'session.token', {}, { cookie })).json()) as {
        result: { data: { agentApiUrl: string } };
      };
      expect(minted.result.data.agentApiUrl).toBe('');
    } finally {
      await same.close();
    }
  });
});
