import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, seedOrganization } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
const lines: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database);
  server = await startTestServer(deps, {
    level: 'trace',
    stream: { write: (line) => lines.push(line) },
  });
});
afterAll(async () => {
  await server.close();
  await database.close();
});

describe('logs', () => {
  it('never contain a key or token the run issued, wherever it travelled', async () => {
    const acme = await seedOrganization(deps, 'acme');
    const secrets: string[] = [acme.apiKey];
    const call = (path: string, init: RequestInit = {}) => fetch(`${server.baseUrl}${path}`, init);
    const auth = (key: string) => ({
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      origin: APP_ORIGIN,
    });

    for (let i = 0; i < 3; i++) {
      const response = await call('/v1/client-side-access-tokens', {
        method: 'POST',
        headers: auth(acme.apiKey),
        body: JSON.stringify({
          hostname: APP_ORIGIN,
          policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
        }),
      });
      secrets.push(((await response.json()) as { token: string }).token);
    }
    const [, first, second, third] = secrets as [string, string, string, string];
    await call('/v1/client-side-access-tokens?limit=5', { headers: auth(acme.apiKey) });
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(first) });
    await call(`/v1/agents/${acme.agentId}`, {
      headers: { authorization: `Bearer ${second}`, origin: 'https://evil.example.com' },
    });
    await call(`/v1/client-side-access-tokens/${second}`, {
      method: 'DELETE',
      headers: auth(acme.apiKey),
    });
    await call(`/v1/client-side-access-tokens/${second}`, {
      method: 'DELETE',
      headers: auth(acme.apiKey),
    });
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(second) });
    await call(
      `/trpc/agents.retrieve?input=${encodeURIComponent(JSON.stringify({ agentId: acme.agentId }))}`,
      { headers: auth(third) },
    );
    await call('/trpc/tokens.list', { headers: auth(third) });
    await call(`/v1/nothing/${third}`);

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    expect(log).toContain('/v1/client-side-access-tokens/ck-let-'); // the DELETE was logged, redacted
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      expect(log).not.toContain(secret.slice(7, 30));
    }
  });
});
