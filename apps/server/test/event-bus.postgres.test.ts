import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_REVOKED_CHANNEL, TokenCache } from '../src/auth/token-cache.js';
import {
  conversationChannel,
  openConversationEvents,
  type TrackedEvent,
} from '../src/conversation/conversation-events.js';
import { sendMessages } from '../src/conversation/messages.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { messages } from '../src/db/schema.js';
import type { EventBus, Interruption } from '../src/events/bus.js';
import { PostgresBus } from '../src/infra/postgres-bus.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, seedOrganization } from './support/fixtures.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL only: this instance's connections go through a proxy the test can cut, while
// "another instance" (the direct connection) keeps publishing.
let database: TestDatabase;
let direct: PostgresBus;
let proxied: DatabaseHandle;
let proxy: TcpProxy;
let bus: PostgresBus;

beforeAll(async () => {
  database = await openTestDatabase();
  const url = new URL(database.url);
  proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  url.port = String(await proxy.start());
  url.hostname = '127.0.0.1';
  proxied = await openDatabase({ url: url.toString(), dataDir: '' });
  if (!database.sql || !proxied.sql) throw new Error('PostgreSQL expected');
  direct = new PostgresBus(database.sql);
  bus = new PostgresBus(proxied.sql, { retryMs: 50, heartbeatMs: 100, heartbeatTimeoutMs: 300 });
});
afterAll(async () => {
  await bus.close();
  await direct.close();
  await proxied.close();
  await database.close();
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PostgresBus', () => {
  it('delivers across connections, and to every local subscriber of a channel', async () => {
    const a: unknown[] = [];
    const b: unknown[] = [];
    const stopA = await bus.subscribe('scopekit_test_fanout', (p) => a.push(p));
    const stopB = await bus.subscribe('scopekit_test_fanout', (p) => b.push(p));
    await direct.publish('scopekit_test_fanout', { n: 1 });
    await until(() => a.length === 1 && b.length === 1, 'both subscribers');
    await stopA();
    await direct.publish('scopekit_test_fanout', { n: 2 });
    await until(() => b.length === 2, 'the remaining subscriber');
    expect(a).toEqual([{ n: 1 }]);
    expect(b).toEqual([{ n: 1 }, { n: 2 }]);
    await stopB();
  });

  it('survives losing its listening connection: says so, re-listens, and the cache stays honest', async () => {
    const phases: Interruption[] = [];
    const received: unknown[] = [];
    const stop = await bus.subscribe(
      'scopekit_test_outage',
      (p) => received.push(p),
      (phase) => phases.push(phase),
    );
    const cache = new TokenCache({ now: () => new Date() });
    const stopCache = await cache.listen(bus);
    const credential = { kind: 'apiKey' as const, id: 'key-1', organizationId: 'org-1' };
    cache.set('h1', credential, cache.generation());
    expect(cache.size).toBe(1);

    await proxy.cut();
    await until(() => phases.includes('lost'), 'the loss to be noticed');
    // Revocations cannot be heard now, so nothing is trusted from memory or kept.
    expect(cache.size).toBe(0);
    cache.set('h1', credential, cache.generation());
    expect(cache.size).toBe(0);
    await direct.publish('scopekit_test_outage', { missed: true });
    // Longer than one connection attempt, so recovery has to keep trying.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await proxy.start();
    await until(() => phases.includes('resumed'), 'delivery to resume');
    expect(phases).toEqual(['lost', 'resumed']);
    cache.set('h1', credential, cache.generation());
    expect(cache.size).toBe(1);

    await direct.publish('scopekit_test_outage', { after: true });
    await direct.publish(CREDENTIAL_REVOKED_CHANNEL, { hash: 'h1' });
    await until(() => received.length === 1 && cache.size === 0, 'events after the outage');
    expect(received).toEqual([{ after: true }]);
    await stopCache();
    await stop();
  });

  it('notices a listening connection that stalls without closing, and listens again', async () => {
    const phases: Interruption[] = [];
    const received: unknown[] = [];
    const stop = await bus.subscribe(
      'scopekit_test_stall',
      (p) => received.push(p),
      (phase) => phases.push(phase),
    );
    const cache = new TokenCache({ now: () => new Date() });
    const stopCache = await cache.listen(bus);
    const credential = { kind: 'apiKey' as const, id: 'key-2', organizationId: 'org-1' };
    cache.set('h2', credential, cache.generation());
    await direct.publish('scopekit_test_stall', { before: true });
    await until(() => received.length === 1, 'delivery before the stall');

    // No close, no error: only the missing heartbeat answer can tell.
    proxy.stall();
    await until(() => phases.includes('lost'), 'the stall to be noticed');
    expect(cache.size).toBe(0);
    cache.set('h2', credential, cache.generation());
    expect(cache.size).toBe(0);

    proxy.unstall();
    await until(() => phases.includes('resumed'), 'delivery to resume');
    expect(phases).toEqual(['lost', 'resumed']);
    cache.set('h2', credential, cache.generation());
    expect(cache.size).toBe(1);
    await direct.publish('scopekit_test_stall', { after: true });
    await direct.publish(CREDENTIAL_REVOKED_CHANNEL, { hash: 'h2' });
    await until(() => received.length === 2 && cache.size === 0, 'events after the stall');
    expect(received).toEqual([{ before: true }, { after: true }]);
    await stopCache();
    await stop();
  });

  it('a live conversation stream re-reads the messages stored while it could not hear', async () => {
    const acme = await seedOrganization(makeDeps(database), 'acme');
    const phases: Interruption[] = [];
    const stopWatching = await bus.subscribe(
      'scopekit_test_phases',
      () => {},
      (p) => phases.push(p),
    );
    const controller = new AbortController();
    const received: TrackedEvent[] = [];
    const insert = (content: string) =>
      database.db.insert(messages).values({
        id: `message-${content.replaceAll(' ', '-')}`,
        agentId: acme.agentId,
        messageType: 'user_message',
        content,
        runId: 'run-test',
      });
    await insert('before');
    const stream = (async () => {
      for await (const tracked of await openConversationEvents(
        { db: proxied.db, bus },
        { agentId: acme.agentId, lastEventId: '0', signal: controller.signal },
      )) {
        received.push(tracked);
      }
    })();
    await until(() => received.length === 1, 'the replay of the stored message');

    await proxy.cut();
    await until(() => phases.includes('lost'), 'the loss to be noticed');
    // Stored (and announced) by another instance while this one cannot hear.
    await insert('during the gap');
    await proxy.start();
    await until(() => phases.includes('resumed'), 'delivery to resume');
    await until(() => received.length === 2, 'the message stored during the gap');

    const contents = received.map((r) =>
      r.event.type === 'message' ? r.event.message.content : '',
    );
    expect(contents).toEqual(['before', 'during the gap']);
    controller.abort();
    await stream;
    await stopWatching();
  });

  it('a stored message is announced by the transaction that stores it, not after it', async () => {
    const deps = makeDeps(database);
    const acme = await seedOrganization(deps, 'hooli');
    const received: unknown[] = [];
    const stop = await direct.subscribe(conversationChannel(acme.agentId), (p) => received.push(p));
    // Every NOTIFY through the pool fails: only one sent inside the insert can get through.
    const poolFails: EventBus = {
      publish: () => Promise.reject(new Error('NOTIFY through the pool failed')),
      transaction: (db, work) => deps.bus.transaction(db, work),
      subscribe: (...args) => deps.bus.subscribe(...args),
      close: () => deps.bus.close(),
    };
    const content = 'a long message '.repeat(1_000);
    await expect(
      sendMessages(
        { ...deps, bus: poolFails },
        {
          organizationId: acme.organizationId,
          agentId: acme.agentId,
          messages: [{ role: 'user', content }],
        },
      ),
    ).rejects.toThrow('NOTIFY through the pool failed');
    await until(() => received.length === 1, 'the stored message’s event');
    const [stored] = await database.db
      .select()
      .from(messages)
      .where(eq(messages.agentId, acme.agentId));
    expect(received).toEqual([
      { type: 'message', message: expect.objectContaining({ id: stored?.id, content }) },
    ]);
    await stop();
    await deps.bus.close();
  });

  it('a stream opened without an event id also re-reads what was stored during a gap', async () => {
    const acme = await seedOrganization(makeDeps(database), 'initech');
    const phases: Interruption[] = [];
    const stopWatching = await bus.subscribe(
      'scopekit_test_phases_fresh',
      () => {},
      (p) => phases.push(p),
    );
    const insert = (content: string) =>
      database.db.insert(messages).values({
        id: `message-fresh-${content.replaceAll(' ', '-')}`,
        agentId: acme.agentId,
        messageType: 'user_message',
        content,
        runId: 'run-test',
      });
    await insert('before the stream');
    const controller = new AbortController();
    const events = await openConversationEvents(
      { db: proxied.db, bus },
      { agentId: acme.agentId, signal: controller.signal },
    );
    const received: TrackedEvent[] = [];
    const stream = (async () => {
      for await (const tracked of events) received.push(tracked);
    })();

    await proxy.cut();
    await until(() => phases.includes('lost'), 'the loss to be noticed');
    await insert('during the gap');
    await proxy.start();
    await until(() => phases.includes('resumed'), 'delivery to resume');
    await until(() => received.length === 1, 'the message stored during the gap');
    expect(
      received.map((r) => (r.event.type === 'message' ? r.event.message.content : '')),
    ).toEqual(['during the gap']);
    controller.abort();
    await stream;
    await stopWatching();
  });
});
