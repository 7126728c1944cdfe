import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { TurnQueue } from '../src/services/turn-queue.js';
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
  const deps: ServiceDeps = {
    ...makeDeps(database),
    db: proxied.db,
    turns: new TurnQueue(proxied.db),
  };
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

  it('loses no message whose send was acknowledged, through an outage under load', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let running = true;
    const sender = async (worker: number) => {
      for (let n = 0; running; n++) {
        const content = `w${worker}-m${n}`;
        const response = await fetch(`${server.baseUrl}/v1/agents/${acme.agentId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messages: [{ role: 'user', content }] }),
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) acknowledged.push(content);
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await pause(500);
    await proxy.cut();
    await pause(1_500);
    await proxy.start();
    // Until sends succeed again, then a little more traffic after recovery.
    const before = acknowledged.length;
    for (let i = 0; i < 100 && acknowledged.length === before; i++) await pause(100);
    await pause(300);
    running = false;
    await Promise.all(senders);

    console.log(`outage under load: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    // Read past the proxy: every acknowledged message is stored, each with its reply.
    const stored = await database.db
      .select({ content: messages.content, runId: messages.runId, type: messages.messageType })
      .from(messages)
      .where(eq(messages.agentId, acme.agentId));
    const userMessages = new Map(
      stored.filter((m) => m.type === 'user_message').map((m) => [m.content, m.runId]),
    );
    const replied = new Set(
      stored.filter((m) => m.type === 'assistant_message').map((m) => m.runId),
    );
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const content of acknowledged) {
      expect(userMessages.has(content), content).toBe(true);
      expect(replied.has(userMessages.get(content) ?? ''), `reply to ${content}`).toBe(true);
    }
  });
});
