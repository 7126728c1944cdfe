import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  openConversationEvents,
  storeAndAnnounce,
} from '../src/conversation/conversation-events.js';
import type { Database } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { PostgresBus } from '../src/infra/postgres-bus.js';
import { newId } from '../src/lib/ids.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL only. A live stream on one instance whose listening connection and pool each go
// through a proxy of their own, so that the test decides which comes back first, while
// another instance (straight to the database) keeps storing messages throughout. Every
// stored message must reach the stream once, in order, however the two return.
let database: TestDatabase;
let writer: ServiceDeps;
let acme: SeededOrganization;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  database = await openTestDatabase();
  writer = makeDeps(database);
  acme = await seedOrganization(writer, 'acme');
});
afterAll(async () => {
  await writer.bus.close();
  await writer.lastUsed.close();
  await database.close();
});

async function throughProxy() {
  const url = new URL(database.url);
  const proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  url.port = String(await proxy.start());
  url.hostname = '127.0.0.1';
  const sql = postgres(url.toString(), {
    max: 2,
    connect_timeout: 2,
    backoff: () => 0.05,
    onnotice: () => {},
  });
  return { proxy, sql };
}

type Order = 'listener first' | 'together' | 'pool first';

it.each<Order>(['listener first', 'together', 'pool first'])(
  'misses no stored message when the listening connection and the pool come back (%s)',
  async (order) => {
    const pool = await throughProxy();
    const listening = await throughProxy();
    const bus = new PostgresBus(listening.sql, { retryMs: 50, heartbeatMs: 200 });
    const reader = { db: drizzle({ client: pool.sql, schema }) as unknown as Database, bus };
    const controller = new AbortController();
    const events = await openConversationEvents(reader, {
      agentId: acme.agentId,
      signal: controller.signal,
    });
    const received: number[] = [];
    const reading = (async () => {
      for await (const { event } of events) {
        if (event.type === 'message') received.push(event.message.seq_id);
      }
    })();

    let writing = true;
    let written = 0;
    let writtenMeanwhile = 0;
    const writes = (async () => {
      while (writing) {
        await storeAndAnnounce(writer, acme.agentId, [
          {
            id: newId('message'),
            agentId: acme.agentId,
            runId: newId('run'),
            messageType: 'user_message',
            content: `m${written++}`,
          },
        ]);
        await pause(5);
      }
    })();
    try {
      await pause(200);
      await Promise.all([pool.proxy.cut(), listening.proxy.cut()]);
      const before = written;
      await pause(500);
      const first = order === 'pool first' ? pool.proxy : listening.proxy;
      const second = order === 'pool first' ? listening.proxy : pool.proxy;
      await first.start();
      if (order !== 'together') await pause(700);
      await second.start();
      writtenMeanwhile = written - before;
      await pause(1_500);
    } finally {
      writing = false;
      await writes;
    }
    // The last message stored, delivered: everything before it must have been too.
    const stored = await database.db
      .select({ seq: schema.messages.seq })
      .from(schema.messages)
      .orderBy(schema.messages.seq);
    const seqs = stored.map((row) => row.seq);
    const last = seqs.at(-1);
    for (let i = 0; i < 200 && received.at(-1) !== last; i++) await pause(50);
    controller.abort();
    await reading;
    await bus.close();
    await Promise.all([pool.sql.end({ timeout: 1 }), listening.sql.end({ timeout: 1 })]);
    await Promise.all([pool.proxy.cut(), listening.proxy.cut()]);
    await database.reset();
    acme = await seedOrganization(writer, 'acme');

    expect(writtenMeanwhile).toBeGreaterThan(5);
    const missing = seqs.filter((seq) => seq > (seqs[0] ?? 0) && !received.includes(seq));
    expect(missing).toEqual([]);
    expect(received).toEqual([...new Set(received)].sort((x, y) => x - y));
    expect(received.at(-1)).toBe(last);
  },
);
