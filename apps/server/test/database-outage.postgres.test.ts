import { inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../src/agents/agent-write.js';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { messages } from '../src/db/schema.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { revokeClientTokenById } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
} from './support/fixtures.js';
import { ScriptedRuntime } from './support/scripted-runtime.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL only. The server is opened as `main.ts` opens it (pool, LISTEN connection, token
// cache listener, shared rate limiter, sweeper), all on a URL that goes through a proxy the
// test can cut: the outage reaches every connection the process holds. An error the process
// failed to handle (an unhandled rejection on a dropped connection) fails the run in vitest.
let database: TestDatabase;
let proxy: TcpProxy;
let runtime: Runtime;
let app: FastifyInstance;
let baseUrl: string;
let acme: SeededOrganization;
/** The server's log lines at `warn` and above: the outage's warnings, searched for secrets. */
const lines: string[] = [];

/** A request during the outage must be answered well within this: no waiting on timeouts. */
const ANSWER_BOUND_MS = 5_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  database = await openTestDatabase();
  const url = new URL(database.url);
  proxy = new TcpProxy(url.hostname, Number(url.port || 5432));
  url.port = String(await proxy.start());
  url.hostname = '127.0.0.1';
  runtime = await openRuntime(
    loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: url.toString(),
      SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
      SCOPEKIT_DB_POOL_SIZE: '4',
      SCOPEKIT_BUILTIN_DELAY_MS: '0',
    }),
  );
  app = await buildApp({
    deps: runtime.deps,
    logLevel: 'warn',
    logStream: { write: (line) => lines.push(line) },
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  acme = await seedOrganization(runtime.deps, 'acme');
});
afterAll(async () => {
  await app.close();
  await runtime.close();
  await database.close();
});

const listTokens = () =>
  fetch(`${baseUrl}/v1/client-side-access-tokens`, {
    headers: { authorization: `Bearer ${acme.apiKey}` },
  });

/** Polls until the server lists tokens again; how long that took after the database's return. */
async function untilRecovered(): Promise<number> {
  const restored = performance.now();
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await listTokens()).status === 200) return performance.now() - restored;
    await pause(100);
  }
  throw new Error('The server did not recover within about 10 s of the database returning');
}

describe('PostgreSQL outage', () => {
  it('answers 503 with a message at once while the database is down, then recovers by itself', async () => {
    const minted = await mintClientToken(runtime.deps, {
      organizationId: acme.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    });
    const getAgent = () =>
      fetch(`${baseUrl}/v1/agents/${acme.agentId}`, {
        headers: { authorization: `Bearer ${minted.token}`, origin: APP_ORIGIN },
      });
    expect((await listTokens()).status).toBe(200);
    expect((await getAgent()).status).toBe(200);

    await proxy.cut();
    // Let the LISTEN connection and the rate limiter's sync notice too.
    await pause(500);
    const timed = async (request: () => Promise<Response>) => {
      const started = performance.now();
      const response = await request();
      return { response, ms: performance.now() - started };
    };
    const during = await Promise.all([
      timed(listTokens),
      timed(listTokens),
      timed(getAgent),
      timed(() => fetch(`${baseUrl}/healthz`)),
    ]);
    for (const { response, ms } of during) {
      expect(response.status).toBe(503);
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(await response.json()).toMatchObject({
        error: 'Service Unavailable',
        message: expect.stringMatching(/database/i),
      });
    }
    expect(during[0]?.response.headers.get('retry-after')).toBe('1');
    // tRPC answers the same status with the same Retry-After.
    const trpcDuring = await fetch(`${baseUrl}/trpc/tokens.list`, {
      headers: { authorization: `Bearer ${acme.apiKey}` },
    });
    expect(trpcDuring.status).toBe(503);
    expect(trpcDuring.headers.get('retry-after')).toBe('1');
    expect(await trpcDuring.text()).toMatch(/database is unavailable/);
    const log = lines.join('');
    expect(log).toContain('"msg":"database unavailable"');
    for (const secret of [acme.apiKey, minted.token]) expect(log).not.toContain(secret);

    await proxy.start();
    const recoveryMs = await untilRecovered();
    console.log(
      `outage: 503 answered in ≤ ${Math.round(Math.max(...during.map((d) => d.ms)))} ms; recovered ${Math.round(recoveryMs)} ms after the database returned`,
    );
    expect((await getAgent()).status).toBe(200);

    // The LISTEN connection came back too: a revocation made by another instance (straight to
    // the database, not through the proxy) still reaches this one's token cache.
    const other = makeDeps(database);
    await revokeClientTokenById(other, { organizationId: acme.organizationId, id: minted.id });
    let status = 200;
    for (let attempt = 0; attempt < 50 && status === 200; attempt++) {
      status = (await getAgent()).status;
      if (status === 200) await pause(100);
    }
    expect(status).toBe(401);
    await other.bus.close();
    await other.lastUsed.close();
  });

  it('loses no message whose send was acknowledged, through an outage under load', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    // One agent per sender: sends to one agent queue behind each other's turns, which would
    // time the queue rather than the outage. Refusals must come from failed queries at once.
    const agentIds = await Promise.all(
      [0, 1, 2, 3].map(async (worker) => {
        const agent = await createAgent(runtime.deps, {
          organizationId: acme.organizationId,
          name: `sender ${worker}`,
        });
        return agent.id;
      }),
    );
    let slowestRefusal = 0;
    let running = true;
    const sender = async (worker: number) => {
      for (let n = 0; running; n++) {
        const content = `w${worker}-m${n}`;
        const started = performance.now();
        const response = await fetch(`${baseUrl}/v1/agents/${agentIds[worker]}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messages: [{ role: 'user', content }] }),
        });
        await response.arrayBuffer();
        if (response.status === 503)
          slowestRefusal = Math.max(slowestRefusal, performance.now() - started);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) acknowledged.push(content);
        else await pause(50);
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    await pause(500);
    await proxy.cut();
    await pause(1_500);
    await proxy.start();
    // Until sends succeed again, then a little more traffic after recovery.
    const restored = performance.now();
    const before = acknowledged.length;
    for (let i = 0; i < 100 && acknowledged.length === before; i++) await pause(100);
    const recoveryMs = performance.now() - restored;
    await pause(300);
    running = false;
    await Promise.all(senders);

    console.log(
      `outage under load: ${JSON.stringify(Object.fromEntries(statuses))}; sends succeeded again ${Math.round(recoveryMs)} ms after the database returned; slowest 503 ${Math.round(slowestRefusal)} ms`,
    );
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(acknowledged.length).toBeGreaterThan(before);
    expect(slowestRefusal).toBeLessThan(ANSWER_BOUND_MS);
    // Read past the proxy: every acknowledged message is stored, each with its reply.
    const stored = await database.db
      .select({ content: messages.content, runId: messages.runId, type: messages.messageType })
      .from(messages)
      .where(inArray(messages.agentId, agentIds));
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

  it('tells a streamed send the outage met mid-turn in-stream, as a plain one hears it, logging only the code', async () => {
    const model = new ScriptedRuntime({ pieces: ['answered'], gated: true });
    const logged: string[] = [];
    const streaming = await buildApp({
      deps: { ...runtime.deps, agentRuntime: model },
      logLevel: 'warn',
      logStream: { write: (line) => logged.push(line) },
    });
    const url = await streaming.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(`${url}/v1/agents/${acme.agentId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [{ role: 'user', content: 'into the outage' }],
          streaming: true,
        }),
      });
      expect(response.status).toBe(200);
      // The user's message is stored and the model at work when the database goes.
      while (model.started === 0) await pause(5);
      await proxy.cut();
      model.release();
      const chunks = (await response.text()).split('\n\n').filter(Boolean);
      expect(chunks.filter((chunk) => !chunk.includes('"message_type":"ping"'))).toEqual([
        'data: {"message_type":"stop_reason","stop_reason":"error"}',
        `event: error\ndata: ${JSON.stringify({
          message_type: 'error_message',
          error_type: 'service_unavailable',
          message: 'The database is unavailable; try again in a few seconds',
        })}`,
        'data: [DONE]',
      ]);
      const entries = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(entries).toContainEqual(
        expect.objectContaining({ msg: 'database unavailable', code: expect.any(String) }),
      );
      expect(entries.filter((entry) => 'err' in entry)).toEqual([]);
    } finally {
      await proxy.start();
      await untilRecovered();
      await streaming.close();
    }
  });
});
