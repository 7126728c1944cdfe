import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/deps.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * CORS only applies in a browser: a real Chromium page on another origin than the server's
 * calls the REST API with a `ck-let-` token bound to that origin, as the SDK in a browser
 * would (its headers included), and must get through the preflight for every method a
 * token may use, without credentials.
 */
// Loopback too (Chromium keeps public pages from calling private addresses), but another
// host and port than the server's: another origin.
const PAGE_ORIGIN = 'http://localhost:8999';
let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
let acme: SeededOrganization;
let browser: Browser;

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
  server = await startTestServer(deps);
  acme = await seedOrganization(deps, 'acme');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      // The page and the server are both on loopback; Chromium would ask the user first.
      '--disable-features=LocalNetworkAccessChecks',
    ],
  });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await server.close();
  await database.close();
});

/** What the page's fetch saw: a status and body, or the network error CORS turns a refusal into. */
type Outcome =
  | { status: number; body: string; allowCredentials: string | null }
  | { error: string };

describe('a browser page on another origin', () => {
  it('may PATCH an agent and its block and read messages with a token that allows it', {
    timeout: 120_000,
  }, async () => {
    const { token } = await mintClientToken(deps, {
      organizationId: acme.organizationId,
      hostname: PAGE_ORIGIN,
      policy: [
        { type: 'agent', id: acme.agentId, access: ['read_agent', 'write_agent', 'read_messages'] },
      ],
    });
    const page = await browser.newPage();
    // The page is served by the browser itself, at an origin the server knows nothing of.
    await page.route(`${PAGE_ORIGIN}/**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>widget</title>' }),
    );
    await page.goto(`${PAGE_ORIGIN}/`);
    const call = (path: string, method: string, body?: unknown) =>
      page.evaluate(
        async ({ url, method, token, body }): Promise<Outcome> => {
          try {
            const response = await fetch(url, {
              method,
              headers: {
                authorization: `Bearer ${token}`,
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
                // What the official SDK adds to every request.
                'X-Stainless-Lang': 'js',
                'X-Stainless-Retry-Count': '0',
                'X-Stainless-Timeout': '60',
                'X-Project': 'default-project',
              },
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            return {
              status: response.status,
              body: await response.text(),
              allowCredentials: response.headers.get('access-control-allow-credentials'),
            };
          } catch (error) {
            return { error: String(error) };
          }
        },
        { url: `${server.baseUrl}${path}`, method, token, body },
      );

    const renamed = await call(`/v1/agents/${acme.agentId}`, 'PATCH', { name: 'renamed' });
    expect(renamed).toMatchObject({ status: 200 });
    expect((renamed as { body: string }).body).toContain('renamed');
    expect((renamed as { allowCredentials: string | null }).allowCredentials).toBeNull();

    const block = await call(`/v1/agents/${acme.agentId}/core-memory/blocks/human`, 'PATCH', {
      value: 'likes tea',
    });
    expect(block).toMatchObject({ status: 200 });
    expect(await call(`/v1/agents/${acme.agentId}/messages`, 'GET')).toMatchObject({
      status: 200,
    });
    // A refusal is readable too: the token does not allow deleting the agent.
    expect(await call(`/v1/agents/${acme.agentId}`, 'DELETE')).toMatchObject({ status: 403 });
    await page.close();
  });
});
