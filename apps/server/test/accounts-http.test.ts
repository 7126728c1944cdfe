import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientTokens, users } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { buildApp } from '../src/http/app.js';
import { RateLimiter } from '../src/infra/rate-limiter.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, TestClock } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
const clock = new TestClock();

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock, {}, undefined, { loginFailuresPerMinute: 3 });
  server = await startTestServer(deps);
});
afterAll(async () => {
  await server.close();
  await database.close();
});
beforeEach(() => database.reset());

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.baseUrl}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: APP_ORIGIN, ...headers },
    body: JSON.stringify(body),
  });
}

const sessionCookieOf = (response: Response) =>
  response.headers.getSetCookie().find((c) => c.startsWith('scopekit_session='));

describe('session cookie over HTTP', () => {
  it('is httpOnly and SameSite=Lax, carries the session, and is cleared on log-out', async () => {
    const signUp = await post('session.signUp', { username: 'olga', password: 'olga password' });
    expect(signUp.status).toBe(200);
    const cookie = sessionCookieOf(signUp);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    const pair = cookie?.split(';')[0] ?? '';

    const me = await fetch(`${server.baseUrl}/trpc/session.me`, { headers: { cookie: pair } });
    expect(((await me.json()) as { result: { data: unknown } }).result.data).toMatchObject({
      username: 'olga',
    });

    const token = await post('session.token', {}, { cookie: pair });
    expect(((await token.json()) as { result: { data: unknown } }).result.data).toMatchObject({
      token: expect.stringMatching(/^ck-let-/),
    });

    const logOut = await post('session.logOut', {}, { cookie: pair });
    expect(sessionCookieOf(logOut)).toMatch(/Expires=Thu, 01 Jan 1970/);
    const after = await post('session.token', {}, { cookie: pair });
    expect(after.status).toBe(401);
  });

  it('is Secure with the __Host- prefix in production', async () => {
    const app = await buildApp({
      deps: { ...deps, accounts: { ...deps.accounts, secureCookies: true } },
      logLevel: 'silent',
    });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/trpc/session.signUp',
        headers: { 'content-type': 'application/json', origin: APP_ORIGIN },
        payload: { username: 'pablo', password: 'pablo password' },
      });
      const cookie = String(response.headers['set-cookie']);
      expect(cookie).toMatch(/^__Host-scopekit_session=/);
      expect(cookie).toMatch(/Secure/);
    } finally {
      await app.close();
    }
  });

  it('answers 429 with Retry-After once an address spends its failed log-ins', async () => {
    clock.startOfWindow();
    for (let i = 0; i < 3; i++) {
      const failed = await post('session.logIn', { username: 'quinn', password: 'wrong password' });
      expect(failed.status).toBe(401);
    }
    const limited = await post('session.logIn', { username: 'quinn', password: 'wrong password' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(await limited.json())).toMatch(/Too many failed log-ins; retry in/);
  });
});

describe('log-in limit under parallel guesses', () => {
  it('lets at most the limit of 40 parallel wrong log-ins reach the password check', async () => {
    clock.startOfWindow();
    await post('session.signUp', { username: 'rosa', password: 'rosa password' });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        post('session.logIn', { username: 'rosa', password: `parallel guess ${i}` }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    const limit = deps.accounts.loginFailuresPerMinute;
    expect(statuses.filter((s) => s === 401)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - limit);
    for (const response of responses.filter((r) => r.status === 429))
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The limit holds afterwards too, right password included.
    const after = await post('session.logIn', { username: 'rosa', password: 'rosa password' });
    expect(after.status).toBe(429);
  });

  it('still lets the right password in after a few failures under the limit', async () => {
    clock.startOfWindow();
    await post('session.signUp', { username: 'sven', password: 'sven password' });
    const limit = deps.accounts.loginFailuresPerMinute;
    const failures = await Promise.all(
      Array.from({ length: limit - 1 }, (_, i) =>
        post('session.logIn', { username: 'sven', password: `typo ${i}` }),
      ),
    );
    expect(failures.map((r) => r.status)).toEqual(Array(limit - 1).fill(401));
    const right = await post('session.logIn', { username: 'sven', password: 'sven password' });
    expect(right.status).toBe(200);
    expect(sessionCookieOf(right)).toBeDefined();
  });
});

describe('sign-up limits', () => {
  /** A second app on the same database with its own accounts settings. */
  async function appWith(accounts: Partial<ServiceDeps['accounts']>) {
    const app = await buildApp({
      deps: {
        ...deps,
        rateLimiter: new RateLimiter(undefined, clock.now),
        accounts: { ...deps.accounts, ...accounts },
      },
      logLevel: 'silent',
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: APP_ORIGIN, ...headers },
        body: JSON.stringify(body),
      });
    return { send, close: () => app.close() };
  }

  it('answers 403 saying sign-up is closed when SCOPEKIT_SIGNUP=closed', async () => {
    const closed = await appWith({ signUp: 'closed' });
    try {
      const response = await closed.send('session.signUp', {
        username: 'tara',
        password: 'tara password',
      });
      expect(response.status).toBe(403);
      expect(JSON.stringify(await response.json())).toMatch(/Sign-up is closed on this server/);
      expect(await database.db.select().from(users)).toEqual([]);
    } finally {
      await closed.close();
    }
  });

  it('answers 429 with Retry-After once an address spends its sign-ups, bad input not counted', async () => {
    clock.startOfWindow(60 * 60_000);
    const limited = await appWith({ signUpsPerAddressPerHour: 2 });
    try {
      const bad = await limited.send('session.signUp', { username: 'x', password: 'long enough' });
      expect(bad.status).toBe(400);
      for (const username of ['uma', 'vera'])
        expect(
          (await limited.send('session.signUp', { username, password: 'a password' })).status,
        ).toBe(200);
      const third = await limited.send('session.signUp', {
        username: 'wade',
        password: 'a password',
      });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(60);
      expect(JSON.stringify(await third.json())).toMatch(/Sign-up limit of 2 per hour/);
      expect((await database.db.select().from(users)).map((u) => u.username).sort()).toEqual([
        'uma',
        'vera',
      ]);
    } finally {
      await limited.close();
    }
  });
});

describe('session token limit', () => {
  it('answers 429 with Retry-After once a user mints their minute, across their sessions', async () => {
    clock.startOfWindow();
    const app = await buildApp({
      deps: {
        ...deps,
        rateLimiter: new RateLimiter(undefined, clock.now),
        accounts: { ...deps.accounts, sessionTokensPerMinute: 3 },
      },
      logLevel: 'silent',
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const send = (path: string, body: unknown, cookie?: string) =>
      fetch(`${base}/trpc/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          origin: APP_ORIGIN,
          ...(cookie ? { cookie } : {}),
        },
        body: JSON.stringify(body),
      });
    const cookieOf = (response: Response) => sessionCookieOf(response)?.split(';')[0] ?? '';
    try {
      const first = cookieOf(
        await send('session.signUp', { username: 'xena', password: 'xena password' }),
      );
      const second = cookieOf(
        await send('session.logIn', { username: 'xena', password: 'xena password' }),
      );
      for (const cookie of [first, second, first])
        expect((await send('session.token', {}, cookie)).status).toBe(200);
      const refused = await send('session.token', {}, second);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(await refused.json())).toMatch(/Token limit of 3 per minute/);
      expect(await database.db.select().from(clientTokens)).toHaveLength(3);

      // Another user has their own allowance, and the next minute starts afresh.
      const other = cookieOf(
        await send('session.signUp', { username: 'yuri', password: 'yuri password' }),
      );
      expect((await send('session.token', {}, other)).status).toBe(200);
      clock.advance(60_000);
      expect((await send('session.token', {}, first)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('behind a trusted proxy', () => {
  it('limits failed log-ins per forwarded client address, not per proxy', async () => {
    clock.startOfWindow();
    const app = await buildApp({ deps, logLevel: 'silent', trustProxy: '127.0.0.1' });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const logIn = (client: string) =>
      fetch(`${base}/trpc/session.logIn`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          origin: APP_ORIGIN,
          'x-forwarded-for': client,
        },
        body: JSON.stringify({ username: 'quinn', password: 'wrong password' }),
      });
    try {
      for (let i = 0; i < 3; i++) expect((await logIn('203.0.113.7')).status).toBe(401);
      expect((await logIn('203.0.113.7')).status).toBe(429);
      // Another client behind the same proxy still has its own allowance.
      expect((await logIn('198.51.100.9')).status).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('CORS', () => {
  const preflight = (origin: string, path: string) =>
    fetch(`${server.baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });

  it('allows credentials for the web origins only', async () => {
    const web = await preflight(APP_ORIGIN, '/trpc/session.logIn');
    expect(web.status).toBe(204);
    expect(web.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(web.headers.get('access-control-allow-credentials')).toBe('true');

    const other = await preflight('https://elsewhere.example.com', '/trpc/session.logIn');
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('still answers any origin for bearer routes, without credentials', async () => {
    const response = await preflight('https://someone.example.org', '/v1/agents/agent-1');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://someone.example.org');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('serving the built web app', () => {
  it('serves files, falls back to index.html for page paths, and leaves the API alone', async () => {
    const dist = mkdtempSync(join(tmpdir(), 'scopekit-web-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>scopekit</title>');
    writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
    const app = await buildApp({ deps, logLevel: 'silent', webDist: dist });
    try {
      const index = await app.inject({ url: '/' });
      expect(index.body).toContain('<title>scopekit</title>');
      const page = await app.inject({ url: '/admin' });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<title>scopekit</title>');
      const asset = await app.inject({ url: '/assets/app-abc123.js' });
      expect(asset.headers['cache-control']).toMatch(/immutable/);
      expect((await app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);
      const api = await app.inject({ url: '/v1/nothing' });
      expect(api.statusCode).toBe(404);
      expect(api.json()).toMatchObject({ error: 'Not Found' });
    } finally {
      await app.close();
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
