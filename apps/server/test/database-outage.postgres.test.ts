import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL only: the server reaches its database through a proxy the test can cut.
let database: TestDatabase;
let proxied: DatabaseHandle;
let proxy: TcpProxy;
let server: TestServer;
let acme: SeededOrganization;

beforeAll(async () => {
  database = await openTestDatabase();
  const url = new URL(database.url);
  proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  url.port = String(await proxy.start());
  url.hostname = '127.0.0.1';
  proxied = await openDatabase({ url: url.toString(), dataDir: '' });
  const deps: ServiceDeps = { ...makeDeps(database), db: proxied.db };
  acme = await seedOrganization(deps, 'acme');
  server = await startTestServer(deps);
});
afterAll(async () => {
  await server.close();
  await proxied.close();
  await database.close();
});

const listTokens = () =>
  fetch(`${server.baseUrl}/v1/client-side-access-tokens`, {
    headers: { authorization: `Bearer ${acme.apiKey}` },
  });

describe('PostgreSQL outage', () => {
  it('answers 503 with a message while the database is down, then recovers by itself', async () => {
    expect((await listTokens()).status).toBe(200);

    await proxy.cut();
    const during = await Promise.all([
      listTokens(),
      listTokens(),
      fetch(`${server.baseUrl}/healthz`),
    ]);
    for (const response of during) {
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        error: 'Service Unavailable',
        message: expect.stringMatching(/database/i),
      });
    }
    expect(during[0]?.headers.get('retry-after')).toBe('1');

    await proxy.start();
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await listTokens()).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  });
});
