import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConversationEvent,
  conversationChannel,
} from '../src/conversation/conversation-events.js';
import { sendMessages } from '../src/conversation/messages.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { messages } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { MAX_NOTIFY_BYTES } from '../src/infra/notify-parts.js';
import { PostgresBus } from '../src/infra/postgres-bus.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

// PostgreSQL only: events larger than one NOTIFY, published by instance A and heard by
// instance B through its own connection and bus.
let database: TestDatabase;
let a: ServiceDeps;
let other: DatabaseHandle;
let b: PostgresBus;
let acme: SeededOrganization;
let server: TestServer;

beforeAll(async () => {
  database = await openTestDatabase();
  a = makeDeps(database);
  other = await openDatabase({ url: database.url, dataDir: '' });
  if (!other.sql) throw new Error('PostgreSQL expected');
  b = new PostgresBus(other.sql);
  acme = await seedOrganization(a, 'acme');
  server = await startTestServer(a);
});
afterAll(async () => {
  await server.close();
  await b.close();
  await a.bus.close();
  await other.close();
  await database.close();
});

async function until(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Text of about `bytes` UTF-8 bytes: words of one-, two-, three- and four-byte characters. */
function longText(bytes: number, word = 'tea ünï €uro 🫖pot ') {
  return word.repeat(Math.ceil(bytes / Buffer.byteLength(word))).trim();
}

/** Sends through instance A while instance B listens; resolves with what B heard. */
async function sendAndHear(content: string) {
  const heard: ConversationEvent[] = [];
  const stop = await b.subscribe(conversationChannel(acme.agentId), (payload) =>
    heard.push(payload as ConversationEvent),
  );
  const response = await sendMessages(a, {
    organizationId: acme.organizationId,
    agentId: acme.agentId,
    messages: [{ role: 'user', content }],
  });
  await until(() => heard.some((e) => e.type === 'stop'), 'the end of the turn');
  await stop();
  return { response, heard };
}

describe('events larger than one NOTIFY', () => {
  it('a 30 KB message and its long reply reach another instance intact', async () => {
    const content = longText(30 * 1024);
    const { response, heard } = await sendAndHear(content);
    expect(response.stop_reason.stop_reason).toBe('end_turn');
    const reply = response.messages[0]?.content ?? '';
    expect(reply).toContain(content);

    const stored = heard.flatMap((e) => (e.type === 'message' ? [e.message] : []));
    expect(stored.map((m) => [m.message_type, m.content])).toEqual([
      ['user_message', content],
      ['assistant_message', reply],
    ]);
    const deltas = heard.flatMap((e) => (e.type === 'delta' ? [e] : []));
    expect(deltas.map((d) => d.index)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.text).join('')).toBe(reply);
    expect(heard.at(-1)).toMatchObject({ type: 'stop', stopReason: 'end_turn' });
  });

  it('a ~10 KB reply streamed as one piece arrives whole, in order with the rest', async () => {
    // No spaces: the builtin agent's echo of it is a single piece of ~10 KB.
    const word = '€'.repeat(3400);
    const { response, heard } = await sendAndHear(word);
    const reply = response.messages[0]?.content ?? '';
    const long = heard.find((e) => e.type === 'delta' && e.text.includes(word));
    expect(Buffer.byteLength(JSON.stringify(long))).toBeGreaterThan(MAX_NOTIFY_BYTES);
    expect(heard.map((e) => e.type)).toEqual([
      'message',
      ...heard.filter((e) => e.type === 'delta').map(() => 'delta'),
      'message',
      'stop',
    ]);
    expect(heard.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('')).toBe(reply);
  });

  it('a plain send of 30 KB over HTTP answers 200 with the reply, stored once', async () => {
    await database.reset();
    acme = await seedOrganization(a, 'acme');
    const content = longText(30 * 1024);
    const response = await fetch(`${server.baseUrl}/v1/agents/${acme.agentId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { messages: { content: string }[] };
    expect(body.messages[0]?.content).toContain(content);
    const rows = await database.db.select().from(messages);
    expect(rows.map((r) => r.messageType).sort()).toEqual(['assistant_message', 'user_message']);
  });

  it('gives up on a set with a missing part, and still delivers what follows', async () => {
    const channel = 'scopekit_test_parts';
    const heard: unknown[] = [];
    const stop = await b.subscribe(channel, (payload) => heard.push(payload));
    const notify = (text: string) =>
      database.db.execute(sql`select pg_notify(${channel}, ${text})`);
    const set = '6f1c3e0a-8d2b-4c55-9a1e-0b7d2f4e9c31';
    // A set whose second part never comes, then one whose parts skip an index.
    await notify(`~part:${set}:0:3:{"lost":`);
    await notify(`~part:${set}:2:3:true}`);
    const skipped = '0d9e8f7a-1b2c-4d3e-8f4a-5b6c7d8e9f01';
    await notify(`~part:${skipped}:0:2:{"skipped":`);
    await notify(`~part:${skipped}:1:3:true}`);
    const big = { text: longText(20 * 1024) };
    await a.bus.publish(channel, big);
    await a.bus.publish(channel, { after: true });
    await until(() => heard.length >= 2, 'the complete events');
    expect(heard).toEqual([big, { after: true }]);
    await stop();
  });
});
