import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import type { ServiceDeps } from '../src/services/deps.js';
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
    expect(JSON.stringify(await limited.json())).toMatch(/Too many failed log-ins/);
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
