import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/deps.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { bundleForBrowser } from './support/browser-bundle.js';
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

  it('the official Letta SDK, run in the page, makes the calls its token allows', {
    timeout: 120_000,
  }, async () => {
    const sdk = await bundleForBrowser('@letta-ai/letta-client', 'LettaSDK');
    const { token } = await mintClientToken(deps, {
      organizationId: acme.organizationId,
      hostname: PAGE_ORIGIN,
      policy: [
        {
          type: 'agent',
          id: acme.agentId,
          access: ['read_agent', 'write_agent', 'read_messages', 'write_messages'],
        },
      ],
    });
    const page = await browser.newPage();
    await page.route(`${PAGE_ORIGIN}/**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>widget</title>' }),
    );
    await page.goto(`${PAGE_ORIGIN}/`);
    await page.addScriptTag({ content: sdk });
    const outcome = await page.evaluate(
      async ({ baseURL, token, agentId }) => {
        type Sdk = typeof import('@letta-ai/letta-client');
        const { Letta, APIError } = (globalThis as unknown as { LettaSDK: Sdk }).LettaSDK;
        const client = new Letta({ apiKey: token, baseURL, maxRetries: 0 });
        const renamed = await client.agents.update(agentId, { name: 'renamed by the SDK' });
        const block = await client.agents.blocks.update('human', {
          agent_id: agentId,
          value: 'likes tea',
        });
        const sent = await client.agents.messages.create(agentId, {
          messages: [{ role: 'user', content: 'hello from a browser' }],
        });
        const listed = await client.agents.messages.list(agentId, { limit: 10 });
        const cancelled = await client.agents.messages.cancel(agentId);
        let deleteStatus: number | undefined;
        try {
          await client.agents.delete(agentId);
        } catch (error) {
          deleteStatus = error instanceof APIError ? error.status : -1;
        }
        return {
          name: renamed.name,
          block: block.value,
          replied: sent.messages.some((m) => m.message_type === 'assistant_message'),
          listed: listed.items.length,
          cancelled,
          deleteStatus,
        };
      },
      { baseURL: server.baseUrl, token, agentId: acme.agentId },
    );
    expect(outcome).toEqual({
      name: 'renamed by the SDK',
      block: 'likes tea',
      replied: true,
      listed: expect.any(Number),
      cancelled: {},
      // The token does not allow deleting the agent: a readable 403, not a CORS failure.
      deleteStatus: 403,
    });
    expect(outcome.listed).toBeGreaterThanOrEqual(2);
    await page.close();
  });
});
