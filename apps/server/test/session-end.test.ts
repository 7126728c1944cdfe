import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setPassword, signUp } from '../src/accounts/users.js';
import type { ServiceDeps } from '../src/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Sessions end with what they stood for: a changed password ends every session of its user
 * and the tokens they minted, "log out everywhere" does the same on request, and a log-in
 * never keeps the session id the browser arrived with.
 */
let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
  server = await startTestServer(deps);
}, 300_000);
afterAll(async () => {
  await server.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  deps.tokenCache.clear();
  await signUp(deps, { username: 'alice', password: 'alice password' });
  await signUp(deps, { username: 'bob', password: 'bob password' });
});

function call(procedure: string, cookie?: string, body: unknown = {}) {
  return fetch(`${server.baseUrl}/trpc/${procedure}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: APP_ORIGIN,
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify(body),
  });
}

/** A log-in's session cookie, as `name=value`. */
async function logIn(username: string, password = `${username} password`, cookie?: string) {
  const response = await call('session.logIn', cookie, { username, password });
  expect(response.status).toBe(200);
  const set = response.headers.getSetCookie().find((c) => c.startsWith('scopekit_session='));
  return set?.split(';')[0] ?? '';
}

async function me(cookie: string): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}/trpc/session.me`, {
    headers: { cookie, origin: APP_ORIGIN },
  });
  return ((await response.json()) as { result: { data: unknown } }).result.data;
}

/** A session's web token, and whether it still opens its agent. */
async function tokenOf(cookie: string) {
  const response = await call('session.token', cookie);
  const data = ((await response.json()) as { result: { data: { token: string; agentId: string } } })
    .result.data;
  return {
    opens: async () =>
      (
        await fetch(`${server.baseUrl}/v1/agents/${data.agentId}`, {
          headers: { authorization: `Bearer ${data.token}`, origin: APP_ORIGIN },
        })
      ).status,
  };
}

describe('sessions', () => {
  it('a changed password ends every session of its user and revokes their tokens', async () => {
    const laptop = await logIn('alice');
    const phone = await logIn('alice');
    const bobs = await logIn('bob');
    const laptopToken = await tokenOf(laptop);
    const phoneToken = await tokenOf(phone);
    const bobToken = await tokenOf(bobs);
    expect(await laptopToken.opens()).toBe(200);
    expect(await phoneToken.opens()).toBe(200);

    // What `pnpm cli users password` calls.
    await setPassword(deps, { username: 'alice', password: 'a new password' });

    expect(await me(laptop)).toBeNull();
    expect(await me(phone)).toBeNull();
    expect(await laptopToken.opens()).toBe(401);
    expect(await phoneToken.opens()).toBe(401);
    // Another user's session and token are untouched.
    expect(await me(bobs)).toMatchObject({ username: 'bob' });
    expect(await bobToken.opens()).toBe(200);
    expect(
      (await call('session.logIn', undefined, { username: 'alice', password: 'alice password' }))
        .status,
    ).toBe(401);
    expect(await me(await logIn('alice', 'a new password'))).toMatchObject({ username: 'alice' });
  });

  it('"log out everywhere" ends every session of the user and their tokens', async () => {
    const laptop = await logIn('alice');
    const phone = await logIn('alice');
    const bobs = await logIn('bob');
    const phoneToken = await tokenOf(phone);

    const response = await call('session.logOutEverywhere', laptop);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().join()).toMatch(/scopekit_session=;/);

    expect(await me(laptop)).toBeNull();
    expect(await me(phone)).toBeNull();
    expect(await phoneToken.opens()).toBe(401);
    expect(await me(bobs)).toMatchObject({ username: 'bob' });
    // Without a session there is nothing to end.
    expect((await call('session.logOutEverywhere', phone)).status).toBe(401);
  });

  it('a log-in gets a new session id and ends the one the browser arrived with', async () => {
    const before = await logIn('bob');
    const beforeToken = await tokenOf(before);
    const after = await logIn('alice', 'alice password', before);
    expect(after).not.toBe(before);
    expect(await me(before)).toBeNull();
    expect(await beforeToken.opens()).toBe(401);
    expect(await me(after)).toMatchObject({ username: 'alice' });
  });
});
