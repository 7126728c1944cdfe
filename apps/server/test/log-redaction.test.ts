import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinRuntime } from '../src/agent-runtime/builtin.js';
import type { AgentContext, AgentRuntime, HistoryMessage } from '../src/agent-runtime/runtime.js';
import type { ServiceDeps } from '../src/services/deps.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, seedOrganization, TestClock } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { browserTrpcClient } from './support/trpc-client.js';

/** The message that makes the runtime below fail the way a provider's bug would. */
const BREAK = 'break the runtime';

/**
 * The built-in runtime, except that it throws a plain error (no AppError, no runtime error)
 * before producing anything when asked to break: the server's 500 path, logged in full.
 */
class BreakableRuntime implements AgentRuntime {
  readonly name = 'breakable';
  readonly #inner = new BuiltinRuntime(0);
  llmConfig = () => this.#inner.llmConfig();
  respond(agent: AgentContext, history: HistoryMessage[], options: { signal: AbortSignal }) {
    if (history.at(-1)?.content === BREAK) throw new TypeError('the runtime broke');
    return this.#inner.respond(agent, history, options);
  }
}

let database: TestDatabase;
let deps: ServiceDeps;
let server: TestServer;
const lines: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, new TestClock(), {}, new BreakableRuntime());
  server = await startTestServer(deps, {
    level: 'trace',
    stream: { write: (line) => lines.push(line) },
  });
});
afterAll(async () => {
  await server.close();
  await database.close();
});

const sessionOf = (response: Response) =>
  /scopekit_session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];

describe('logs', () => {
  it('never contain a key, token, password or session the run issued, wherever it travelled', {
    timeout: 30_000,
  }, async () => {
    const acme = await seedOrganization(deps, 'acme');
    const secrets: string[] = [acme.apiKey];
    const call = (path: string, init: RequestInit = {}) => fetch(`${server.baseUrl}${path}`, init);
    const auth = (key: string) => ({
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      origin: APP_ORIGIN,
    });
    const web = (cookie?: string) => ({
      'content-type': 'application/json',
      origin: APP_ORIGIN,
      ...(cookie && { cookie: `scopekit_session=${cookie}` }),
    });

    // Server-side key and client-side tokens, over REST and tRPC.
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
    for (let i = 0; i < 2; i++) {
      await call(`/v1/client-side-access-tokens/${second}`, {
        method: 'DELETE',
        headers: auth(acme.apiKey),
      });
    }
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(second) });
    await call(
      `/trpc/agents.retrieve?input=${encodeURIComponent(JSON.stringify({ agentId: acme.agentId }))}`,
      { headers: auth(third) },
    );
    await call('/trpc/tokens.list', { headers: auth(third) });
    await call(`/v1/nothing/${third}`);

    // Passwords and sessions: sign-up, a failed and a good log-in, the cookie in use.
    const password = 'correct horse battery staple';
    const wrongPassword = 'incorrect mule battery staple';
    secrets.push(password, wrongPassword);
    const signedUp = await call('/trpc/session.signUp', {
      method: 'POST',
      headers: web(),
      body: JSON.stringify({ username: 'logged-user', password }),
    });
    expect(signedUp.status).toBe(200);
    await call('/trpc/session.logIn', {
      method: 'POST',
      headers: web(),
      body: JSON.stringify({ username: 'logged-user', password: wrongPassword }),
    });
    const loggedIn = await call('/trpc/session.logIn', {
      method: 'POST',
      headers: web(),
      body: JSON.stringify({ username: 'logged-user', password }),
    });
    const sessions = [sessionOf(signedUp), sessionOf(loggedIn)];
    expect(sessions.every((s) => s !== undefined && s.length > 16)).toBe(true);
    secrets.push(...(sessions as string[]));
    const session = sessions[1] as string;
    await call('/trpc/session.me', { headers: web(session) });
    // A password where none belongs: in a GET's query string, which the request log records.
    const queryPassword = 'hunter2-in-the-query';
    secrets.push(queryPassword);
    await call(`/trpc/session.me?password=${encodeURIComponent(queryPassword)}`, {
      headers: web(session),
    });
    await call(`/healthz?${encodeURIComponent(queryPassword)}`);

    // The web app's own token, and a subscription carrying it in connectionParams (the URL).
    const minted = await call('/trpc/session.token', { method: 'POST', headers: web(session) });
    const { token: webToken, agentId } = (
      (await minted.json()) as { result: { data: { token: string; agentId: string } } }
    ).result.data;
    secrets.push(webToken);
    const client = browserTrpcClient(server.baseUrl, webToken);
    const firstEvent = new Promise<void>((resolve, reject) => {
      const subscription = client.messages.events.subscribe(
        { agentId },
        {
          onData: () => {
            subscription.unsubscribe();
            resolve();
          },
          onError: reject,
        },
      );
    });
    await client.messages.send.mutate({ agentId, content: 'hello' });
    await firstEvent;

    // The 500 path: an unexpected error is logged with its details, over REST and tRPC.
    const broken = await call(`/v1/agents/${acme.agentId}/messages`, {
      method: 'POST',
      headers: auth(acme.apiKey),
      body: JSON.stringify({ messages: [{ role: 'user', content: BREAK }] }),
    });
    expect(broken.status).toBe(500);
    await expect(client.messages.send.mutate({ agentId, content: BREAK })).rejects.toThrow();

    await call('/trpc/session.logOut', { method: 'POST', headers: web(session) });

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(30);
    // Each path was taken and logged: otherwise the search below proves nothing.
    expect(log).toContain('/v1/client-side-access-tokens/ck-let-'); // the DELETE, redacted
    expect(log).toContain('/trpc/session.me?password=…');
    expect(log).toContain('/trpc/messages.events?');
    expect(log).toContain('the runtime broke');
    expect(log).toContain('"msg":"unhandled error"');
    expect(log).toContain('"msg":"tRPC error"');
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      expect(log).not.toContain(encodeURIComponent(secret));
      if (/^(ck|sk)-let-/.test(secret)) expect(log).not.toContain(secret.slice(7, 30));
    }
  });
});
