import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { type SeededOrganization, seedOrganization } from './support/fixtures.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL only. A frozen database (stopped, or behind a network that drops its packets)
// refuses nothing: connections stay open and queries wait. The server is opened as main.ts
// opens it, on a URL through a proxy that the test stalls.
let database: TestDatabase;
let proxy: TcpProxy;
let runtime: Runtime;
let app: FastifyInstance;
let baseUrl: string;
let acme: SeededOrganization;

/** "Within a few seconds": what a client waiting on a frozen database may wait at most. */
const ANSWER_BOUND_MS = 8_000;

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
    }),
  );
  app = await buildApp({
    deps: runtime.deps,
    logLevel: 'silent',
    databaseWatch: runtime.database.watch,
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  acme = await seedOrganization(runtime.deps, 'acme');
});
afterAll(async () => {
  // Connections stalled when the freeze began stay stalled: drop them, then forward again.
  proxy.unstall();
  await proxy.cut();
  await proxy.start();
  await app.close();
  await runtime.close();
  await proxy.cut();
  await database.close();
});

it('answers 503 with Retry-After within seconds while the database is frozen, /healthz too', async () => {
  const listTokens = () =>
    fetch(`${baseUrl}/v1/client-side-access-tokens`, {
      headers: { authorization: `Bearer ${acme.apiKey}` },
    });
  // The pool's connections are open, as in a server that has been serving.
  expect(
    (await Promise.all([listTokens(), listTokens(), fetch(`${baseUrl}/healthz`)])).map(
      (r) => r.status,
    ),
  ).toEqual([200, 200, 200]);
  runtime.deps.tokenCache.clear();

  proxy.stall();
  const timed = async (path: string, headers: Record<string, string> = {}) => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}${path}`, {
      headers,
      signal: AbortSignal.timeout(30_000),
    });
    return { response, ms: performance.now() - started };
  };
  const answers = await Promise.all([
    timed('/v1/client-side-access-tokens', { authorization: `Bearer ${acme.apiKey}` }),
    timed('/trpc/tokens.list', { authorization: `Bearer ${acme.apiKey}` }),
    timed('/healthz'),
  ]);
  console.log(`frozen database: answered in ${answers.map((a) => Math.round(a.ms)).join(', ')} ms`);
  for (const { response, ms } of answers) {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(ms).toBeLessThan(ANSWER_BOUND_MS);
  }
  proxy.unstall();
  let status = 0;
  for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
    status = (await listTokens()).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toBe(200);
});
