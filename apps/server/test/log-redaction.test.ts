import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../src/accounts/users.js';
import { BuiltinRuntime } from '../src/agent-runtime/builtin.js';
import type {
  AgentContext,
  AgentRuntime,
  HistoryMessage,
  ToolSpec,
} from '../src/agent-runtime/runtime.js';
import type { ServiceDeps } from '../src/deps.js';
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
  readonly #inner = new BuiltinRuntime(0);
  llmConfig = () => this.#inner.llmConfig();
  respond(
    agent: AgentContext,
    history: HistoryMessage[],
    options: { signal: AbortSignal; tools: ToolSpec[] },
  ) {
    const last = history.at(-1);
    if (last?.role === 'user' && last.content === BREAK) throw new TypeError('the runtime broke');
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

/** A token with its first letter and every other character after the prefix percent-escaped. */
const escaped = (token: string) =>
  [...token]
    .map((char, i) =>
      i === 0 || (i > 7 && i % 2 === 0)
        ? `%${char.charCodeAt(0).toString(16).toUpperCase()}`
        : char,
    )
    .join('');

/** Every percent-escape decoded, over and over, as a reader rebuilding a secret would. */
function decodedAll(text: string): string {
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  }
  return text;
}

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
    // A DELETE has no body, so no content type (Fastify refuses an empty JSON body).
    const bearer = (key: string) => ({ authorization: `Bearer ${key}`, origin: APP_ORIGIN });
    const web = (cookie?: string) => ({
      'content-type': 'application/json',
      origin: APP_ORIGIN,
      ...(cookie && { cookie: `scopekit_session=${cookie}` }),
    });

    const tokenRequest = {
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: acme.agentId, access: ['read_agent'] }],
    };
    const mintOver = async (path: string) => {
      const response = await call(path, {
        method: 'POST',
        headers: auth(acme.apiKey),
        body: JSON.stringify(tokenRequest),
      });
      const { token } = (await response.json()) as { token: string };
      secrets.push(token);
      return token;
    };

    // Server-side key and client-side tokens, over REST and tRPC.
    for (let i = 0; i < 3; i++) await mintOver('/v1/client-side-access-tokens');
    const [, first, second, third] = secrets as [string, string, string, string];
    await call('/v1/client-side-access-tokens?limit=5', { headers: auth(acme.apiKey) });
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(first) });
    await call(`/v1/agents/${acme.agentId}`, {
      headers: { authorization: `Bearer ${second}`, origin: 'https://evil.example.com' },
    });
    for (const expected of [204, 404]) {
      const revoked = await call(`/v1/client-side-access-tokens/${second}`, {
        method: 'DELETE',
        headers: bearer(acme.apiKey),
      });
      expect(revoked.status).toBe(expected);
    }
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(second) });
    // The router decodes the path parameter, so an escaped token still revokes: the log must
    // not keep the escaped form, from which the token can be read back. Escaped twice, it
    // revokes nothing but is the same secret in the log.
    const revocable = await mintOver('/v1/client-side-access-tokens');
    const escapedRevoke = await call(`/v1/client-side-access-tokens/${escaped(revocable)}`, {
      method: 'DELETE',
      headers: bearer(acme.apiKey),
    });
    expect(escapedRevoke.status).toBe(204);
    expect((await call(`/v1/agents/${acme.agentId}`, { headers: auth(revocable) })).status).toBe(
      401,
    );
    const fourth = await mintOver('/v1/client-side-access-tokens');
    const twice = await call(
      `/v1/client-side-access-tokens/${escaped(fourth).replaceAll('%', '%25')}`,
      { method: 'DELETE', headers: bearer(acme.apiKey) },
    );
    expect(twice.status).toBeGreaterThanOrEqual(400);
    const notFound = await call(`/v1/nothing/${escaped(fourth)}`);
    expect(notFound.status).toBe(404);
    expect(decodedAll(await notFound.text())).not.toContain(fourth.slice(7));
    // Over tRPC: a token minted and revoked by id.
    const trpcMinted = await call('/trpc/tokens.create', {
      method: 'POST',
      headers: auth(acme.apiKey),
      body: JSON.stringify(tokenRequest),
    });
    expect(trpcMinted.status).toBe(200);
    const { token: trpcToken, id: trpcTokenId } = (
      (await trpcMinted.json()) as { result: { data: { token: string; id: string } } }
    ).result.data;
    secrets.push(trpcToken);
    await call(`/v1/agents/${acme.agentId}`, { headers: auth(trpcToken) });
    const trpcRevoked = await call('/trpc/tokens.revoke', {
      method: 'POST',
      headers: auth(acme.apiKey),
      body: JSON.stringify({ id: trpcTokenId }),
    });
    expect(trpcRevoked.status).toBe(200);
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

    // The web app's own token, and a subscription carrying it as the web app does.
    const minted = await call('/trpc/session.token', { method: 'POST', headers: web(session) });
    const { token: webToken, agentId } = (
      (await minted.json()) as { result: { data: { token: string; agentId: string } } }
    ).result.data;
    secrets.push(webToken);
    const client = browserTrpcClient(server.baseUrl, webToken);
    // A stream opened without a position starts from now: send only once it listens, or
    // the reply can be over before it connects and no event ever comes.
    let listening: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const firstEvent = new Promise<void>((resolve, reject) => {
      const subscription = client.messages.events.subscribe(
        { agentId },
        {
          onStarted: () => listening(),
          onData: () => {
            subscription.unsubscribe();
            resolve();
          },
          onError: reject,
        },
      );
    });
    await started;
    await client.messages.send.mutate({ agentId, content: 'hello' });
    await firstEvent;
    // The same token where it is refused, in a URL: the request is still logged, it is not.
    const inUrl = new URLSearchParams({
      input: JSON.stringify({ agentId }),
      connectionParams: JSON.stringify({ authorization: `Bearer ${webToken}` }),
    });
    await (await call(`/trpc/messages.events?${inUrl}`)).text();
    expect((await call(`/v1/agents/${agentId}?token=${webToken}`)).status).toBe(401);

    // The 500 path: an unexpected error is logged with its details, over REST and tRPC.
    const broken = await call(`/v1/agents/${acme.agentId}/messages`, {
      method: 'POST',
      headers: auth(acme.apiKey),
      body: JSON.stringify({ messages: [{ role: 'user', content: BREAK }] }),
    });
    expect(broken.status).toBe(500);
    await expect(client.messages.send.mutate({ agentId, content: BREAK })).rejects.toThrow();
    // Streamed, the error comes after the stream opened: logged by the stream's own handler.
    const streamed = await call(`/v1/agents/${acme.agentId}/messages/stream`, {
      method: 'POST',
      headers: auth(acme.apiKey),
      body: JSON.stringify({ messages: [{ role: 'user', content: BREAK }] }),
    });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain('internal_error');

    // An administrator lists users and tokens (hints only) and revokes the web token.
    const adminPassword = 'an administrator passphrase';
    secrets.push(adminPassword);
    await signUp(deps, { username: 'logged-admin', password: adminPassword, role: 'admin' });
    const adminLogIn = await call('/trpc/session.logIn', {
      method: 'POST',
      headers: web(),
      body: JSON.stringify({ username: 'logged-admin', password: adminPassword }),
    });
    const adminSession = sessionOf(adminLogIn) as string;
    secrets.push(adminSession);
    expect((await call('/trpc/admin.users.list', { headers: web(adminSession) })).status).toBe(200);
    const adminTokens = await call(
      `/trpc/admin.tokens.list?input=${encodeURIComponent(JSON.stringify({ limit: 5 }))}`,
      { headers: web(adminSession) },
    );
    const listed = (
      (await adminTokens.json()) as { result: { data: { tokens: { id: string }[] } } }
    ).result.data.tokens;
    expect(listed.length).toBeGreaterThan(0);
    for (const { id } of listed) {
      const revoked = await call('/trpc/admin.tokens.revoke', {
        method: 'POST',
        headers: web(adminSession),
        body: JSON.stringify({ id }),
      });
      expect(revoked.status).toBe(200);
    }

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
    expect(log).toContain('"msg":"streamed turn failed"');
    expect(log).toContain(`/v1/client-side-access-tokens/${revocable.slice(0, 11)}…`);
    expect(log).toContain(`/v1/nothing/${fourth.slice(0, 11)}…`);
    for (const procedure of [
      'tokens.create',
      'tokens.revoke',
      'admin.users.list',
      'admin.tokens.list',
      'admin.tokens.revoke',
    ])
      expect(log).toContain(`/trpc/${procedure}`);
    // Searched as written, and with every escape decoded as often as it goes: an escaped
    // character in a logged secret is no redaction.
    const decodedLog = decodedAll(log);
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
      expect(log).not.toContain(encodeURIComponent(secret));
      expect(decodedLog).not.toContain(secret);
      if (/^(ck|sk)-let-/.test(secret)) expect(decodedLog).not.toContain(secret.slice(7, 30));
    }
  });
});
