import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/deps.js';
import { buildApp } from '../src/http/app.js';
import { SECURITY_HEADERS } from '../src/http/security-headers.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
} from './support/fixtures.js';

let database: TestDatabase;
let deps: ServiceDeps;
let app: FastifyInstance;
let baseUrl: string;
let acme: SeededOrganization;
let webDist: string;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
  acme = await seedOrganization(deps, 'acme');
  webDist = mkdtempSync(join(tmpdir(), 'scopekit-web-'));
  mkdirSync(join(webDist, 'assets'));
  writeFileSync(join(webDist, 'index.html'), '<!doctype html><title>chat</title>');
  writeFileSync(join(webDist, 'assets', 'index-abc.js'), 'export {};');
  app = await buildApp({ deps, logLevel: 'silent', webDist });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await database.close();
  rmSync(webDist, { recursive: true, force: true });
});

/** Headers as Node's client parsed them, for answers `fetch` cannot make or read. */
function rawRequest(path: string, headers: Record<string, string>) {
  const url = new URL(baseUrl);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path, headers, method: 'GET' },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

function expectSecurityHeaders(headers: Headers | Record<string, unknown>) {
  const get = (name: string) =>
    headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(get(name), name).toBe(value);
  expect(get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(get('content-security-policy')).toContain("script-src 'self'");
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}`, origin: APP_ORIGIN });

describe('security headers on every answer', () => {
  it('a JSON 200 that lists tokens, not to be cached', async () => {
    const res = await fetch(`${baseUrl}/v1/client-side-access-tokens`, {
      headers: bearer(acme.apiKey),
    });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a minted token, not to be cached', async () => {
    const res = await fetch(`${baseUrl}/v1/client-side-access-tokens`, {
      method: 'POST',
      headers: { ...bearer(acme.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({
        hostname: APP_ORIGIN,
        policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
      }),
    });
    expect(res.ok).toBe(true);
    expect(await res.json()).toHaveProperty('token');
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a 401 and a 404', async () => {
    const unauthorized = await fetch(`${baseUrl}/v1/agents/${acme.agentId}`);
    expect(unauthorized.status).toBe(401);
    expectSecurityHeaders(unauthorized.headers);
    const missing = await fetch(`${baseUrl}/v1/no-such-route`);
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing.headers);
    expect(await missing.json()).toEqual({
      error: 'Not Found',
      message: 'No route GET /v1/no-such-route',
    });
  });

  it('a tRPC call', async () => {
    const input = encodeURIComponent(JSON.stringify({ agentId: acme.agentId }));
    const res = await fetch(`${baseUrl}/trpc/tokens.list?input=${input}`, {
      headers: bearer(acme.apiKey),
    });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('an event stream (REST streaming send)', async () => {
    const res = await fetch(`${baseUrl}/v1/agents/${acme.agentId}/messages/stream`, {
      method: 'POST',
      headers: { ...bearer(acme.apiKey), 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('cache-control')).toBe('no-store, no-transform');
    expect(await res.text()).toContain('data: [DONE]');
  });

  it('a live tRPC event stream, whose open answer then keeps no table of them', async () => {
    let answer: ServerResponse | undefined;
    const capture = (request: IncomingMessage, response: ServerResponse) => {
      if (request.url?.startsWith('/trpc/messages.events')) answer = response;
    };
    app.server.prependListener('request', capture);
    const stop = new AbortController();
    try {
      const input = encodeURIComponent(JSON.stringify({ agentId: acme.agentId }));
      const res = await fetch(`${baseUrl}/trpc/messages.events?input=${input}`, {
        headers: { ...bearer(acme.apiKey), accept: 'text/event-stream' },
        signal: stop.signal,
      });
      expect(res.status).toBe(200);
      expectSecurityHeaders(res.headers);
      const reader = res.body?.getReader();
      const first = new TextDecoder().decode((await reader?.read())?.value);
      expect(first).toContain('connected');
      // Sent in the head, then let go: a stream lives for hours, thousands at once.
      expect(answer?.headersSent).toBe(true);
      expect(answer?.getHeaders()).toEqual({});
    } finally {
      stop.abort();
      app.server.off('request', capture);
    }
  });

  it("Fastify's routing refusals, in the usual body shape and without echoing the URL", async () => {
    const tooLong = await fetch(`${baseUrl}/v1/agents/${'a'.repeat(300)}`, {
      headers: bearer(acme.apiKey),
    });
    expect(tooLong.status).toBe(414);
    expectSecurityHeaders(tooLong.headers);
    expect(tooLong.headers.get('cache-control')).toBe('no-store');
    expect(await tooLong.json()).toEqual({
      error: 'URI Too Long',
      message: 'A path segment is longer than 200 characters',
    });

    const badUrl = await fetch(`${baseUrl}/v1/agents/%E0%A4%A`, { headers: bearer(acme.apiKey) });
    expect(badUrl.status).toBe(400);
    expectSecurityHeaders(badUrl.headers);
    expect(await badUrl.json()).toEqual({
      error: 'Bad Request',
      message: 'Malformed URL: a percent-encoded sequence does not decode',
    });
  });

  it("a 431 from Node's parser for oversized headers", async () => {
    const res = await rawRequest('/v1/agents', { 'x-padding': 'a'.repeat(20_000) });
    expect(res.status).toBe(431);
    expectSecurityHeaders(res.headers);
    expect(JSON.parse(res.body)).toEqual({
      error: 'Request Header Fields Too Large',
      message: 'Request headers are too large',
    });
  });

  it("a 400 from Node's parser for a request it cannot read", async () => {
    const url = new URL(baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('NOT AN HTTP REQUEST\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    const [statusLine, ...lines] = head.split('\r\n');
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    const headers = Object.fromEntries(
      lines.map((line) => [
        line.slice(0, line.indexOf(':')).toLowerCase(),
        line.slice(line.indexOf(':') + 2),
      ]),
    );
    expectSecurityHeaders(headers);
    expect(JSON.parse(body)).toEqual({ error: 'Bad Request', message: 'Malformed HTTP request' });
  });

  it('the served web app and its assets', async () => {
    const page = await fetch(`${baseUrl}/chat/some-page`);
    expect(page.status).toBe(200);
    expectSecurityHeaders(page.headers);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const asset = await fetch(`${baseUrl}/assets/index-abc.js`);
    expect(asset.status).toBe(200);
    expectSecurityHeaders(asset.headers);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});

describe('CORS', () => {
  // The SDK's headers and one it does not send: the preflight allows whatever is asked, as
  // SECURITY.md says (the token's origin binding decides, not a header list).
  const sdkHeaders =
    'authorization, content-type, x-stainless-retry-count, x-stainless-lang, x-project-id, x-anything-else';
  const preflight = (origin: string, path = `/v1/agents/${acme.agentId}/messages`) =>
    fetch(`${baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': sdkHeaders,
      },
    });

  it("answers any origin's preflight for the headers it asks, without credentials", async () => {
    const res = await preflight('https://any-site.example');
    expect(res.status).toBe(204);
    expectSecurityHeaders(res.headers);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://any-site.example');
    expect(res.headers.get('access-control-allow-headers')).toBe(sdkHeaders);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('allows credentials only for a web origin on the allow-list, on the session calls', async () => {
    const session = await preflight(APP_ORIGIN, '/trpc/session.logIn');
    expect(session.status).toBe(204);
    expect(session.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(session.headers.get('access-control-allow-credentials')).toBe('true');
    // Agent calls carry only the ck-let- token, even from the web app's own origin.
    const agent = await preflight(APP_ORIGIN);
    expect(agent.status).toBe(204);
    expect(agent.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(agent.headers.get('access-control-allow-credentials')).toBeNull();
    const elsewhere = await preflight('https://any-site.example', '/trpc/session.logIn');
    expect(elsewhere.headers.get('access-control-allow-credentials')).toBeNull();
  });
});
