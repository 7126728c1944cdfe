import { createServer } from 'node:net';
import Letta from '@letta-ai/letta-client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp } from '../src/accounts/users.js';
import { lettaTokens, users } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { sweepExpired } from '../src/infra/sweeper.js';
import { userTag } from '../src/letta-host/letta-agents.js';
import { LettaHost } from '../src/letta-host/letta-host.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import {
  APP_ORIGIN,
  makeDeps,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

// App server A in Letta mode; its "Letta" is a second scopekit, B, on another port, driven
// through the official SDK exactly as Letta Cloud would be.
let dbA: TestDatabase;
let dbB: TestDatabase;
let b: TestServer;
let bOrg: SeededOrganization;
let a: TestServer;
let aDeps: ServiceDeps;
const aClock = new TestClock();
const logLines: string[] = [];

const lettaMode = (deps: ServiceDeps, config: { baseUrl: string; apiKey: string }) => ({
  ...deps,
  accounts: { ...deps.accounts, agentApiUrl: config.baseUrl },
  lettaHost: new LettaHost({ ...config, project: undefined }, { maxRetries: 0 }),
});

beforeAll(async () => {
  dbA = await openTestDatabase();
  dbB = await openTestDatabase();
  const bDeps = makeDeps(dbB, new TestClock());
  bOrg = await seedOrganization(bDeps, 'letta');
  b = await startTestServer(bDeps);
  aDeps = lettaMode(makeDeps(dbA, aClock), { baseUrl: b.baseUrl, apiKey: bOrg.apiKey });
  a = await startTestServer(aDeps, {
    level: 'warn',
    stream: { write: (line) => logLines.push(line) },
  });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await dbA?.close();
  await dbB?.close();
});

const atB = () => new Letta({ apiKey: bOrg.apiKey, baseURL: b.baseUrl, maxRetries: 0 });

/** A browser on the app's origin: the session cookie to A, only the token to B. */
class Browser {
  cookie = '';
  constructor(private readonly base: string) {}
  /** A mutation; `query` for a query (GET, its input in the URL). */
  async call(path: string, body: unknown = {}, query = false) {
    const headers = { 'content-type': 'application/json', origin: APP_ORIGIN, cookie: this.cookie };
    const response = query
      ? await fetch(`${this.base}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(body))}`, {
          headers,
        })
      : await fetch(`${this.base}/trpc/${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
        });
    const set = response.headers.getSetCookie().find((c) => c.startsWith('scopekit_session='));
    if (set) this.cookie = set.split(';')[0] ?? '';
    const json = (await response.json()) as {
      result?: { data: Record<string, unknown> };
      error?: { message: string };
    };
    return { status: response.status, data: json.result?.data, error: json.error };
  }
  async token() {
    const { status, data } = await this.call('session.token');
    expect(status).toBe(200);
    return data as {
      token: string;
      agentId: string;
      agentHost: string;
      agentApiUrl: string;
      expiresIn: number;
    };
  }
}

/** What the browser does with its token: Letta's REST API on B, with the app's Origin. */
const messagesAtB = (token: string, agentId: string) =>
  fetch(`${b.baseUrl}/v1/agents/${agentId}/messages`, {
    headers: { authorization: `Bearer ${token}`, origin: APP_ORIGIN },
  });

async function signedUp(username: string) {
  const browser = new Browser(a.baseUrl);
  const { status } = await browser.call('session.signUp', { username, password: 'a password!' });
  expect(status).toBe(200);
  return browser;
}

describe('Letta as the agent host', () => {
  it('creates the agent on Letta at sign-up, with memory and a tag for the user', async () => {
    const browser = await signedUp('lena');
    const me = (await browser.call('session.me', undefined, true)).data as {
      id: string;
      agentId: string;
    };
    const agent = await atB().agents.retrieve(me.agentId);
    expect(agent.tags).toEqual([userTag(me.id)]);
    expect(agent.blocks.map((block) => block.label).sort()).toEqual(['human', 'persona']);
    // No agent of A's own: the user row names Letta's.
    const [row] = await dbA.db.select().from(users).where(eq(users.id, me.id));
    expect(row?.agentId).toBeNull();
    expect(row?.lettaAgentId).toBe(me.agentId);
  });

  it('mints the token at Letta, records it encrypted, and revokes it there at log-out', async () => {
    const browser = await signedUp('lars');
    const minted = await browser.token();
    expect(minted.token).toMatch(/^ck-let-/);
    expect(minted.agentHost).toBe('letta');
    expect(minted.agentApiUrl).toBe(b.baseUrl);
    expect(minted.expiresIn).toBeGreaterThan(590);
    expect(minted.expiresIn).toBeLessThanOrEqual(600);

    // B minted it: B lists it for that agent, bound to the web origin, with the session's access.
    const listed = await atB().accessTokens.list({ agentId: minted.agentId });
    const atLetta = listed.tokens.find((t) => t.token === minted.token);
    expect(atLetta?.hostname).toBe(APP_ORIGIN);
    expect(atLetta?.policy.data).toEqual([
      {
        type: 'agent',
        id: minted.agentId,
        access: ['read_messages', 'write_messages', 'read_agent'],
      },
    ]);
    const rows = await dbA.db
      .select()
      .from(lettaTokens)
      .where(eq(lettaTokens.agentId, minted.agentId));
    const [row] = rows;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(minted.token);

    expect((await messagesAtB(minted.token, minted.agentId)).status).toBe(200);
    await browser.call('session.logOut');
    expect((await messagesAtB(minted.token, minted.agentId)).status).toBe(401);
    const [after] = await dbA.db
      .select()
      .from(lettaTokens)
      .where(eq(lettaTokens.id, row?.id ?? ''));
    expect(after?.revokedAt).not.toBeNull();
    expect(after?.tokenCiphertext).toBeNull();
  });

  it('revokes at Letta when the user logs out everywhere and when the password changes', async () => {
    const one = await signedUp('liv');
    const first = await one.token();
    await one.call('session.logOutEverywhere');
    expect((await messagesAtB(first.token, first.agentId)).status).toBe(401);

    const two = new Browser(a.baseUrl);
    await two.call('session.logIn', { username: 'liv', password: 'a password!' });
    const second = await two.token();
    expect((await messagesAtB(second.token, second.agentId)).status).toBe(200);
    const { setPassword } = await import('../src/accounts/users.js');
    await setPassword(aDeps, { username: 'liv', password: 'another password' });
    expect((await messagesAtB(second.token, second.agentId)).status).toBe(401);
  });

  it("lists the recorded tokens joined with Letta's, and revokes one there", async () => {
    await signUp(aDeps, { username: 'lotta', password: 'admin password', role: 'admin' });
    const admin = new Browser(a.baseUrl);
    await admin.call('session.logIn', { username: 'lotta', password: 'admin password' });
    const person = await signedUp('linus');
    const minted = await person.token();
    // Revoked at Letta behind A's back: the list says Letta no longer has it.
    const gone = await person.token();
    await atB().accessTokens.delete(gone.token);

    const page = (await admin.call('admin.tokens.list', { agentId: minted.agentId }, true))
      .data as {
      tokens: { id: string; hint: string; atLetta: boolean | null }[];
    };
    expect(page.tokens.map((t) => t.atLetta)).toEqual([false, true]);
    expect(JSON.stringify(page)).not.toContain(minted.token);

    const live = page.tokens.find((t) => t.atLetta);
    const revoked = await admin.call('admin.tokens.revoke', { id: live?.id });
    expect(revoked.status).toBe(200);
    expect((await messagesAtB(minted.token, minted.agentId)).status).toBe(401);
    const after = (await admin.call('admin.tokens.list', { agentId: minted.agentId }, true))
      .data as {
      tokens: unknown[];
    };
    expect(after.tokens).toHaveLength(1);
  });

  it('sweeps the records of expired tokens', async () => {
    const browser = await signedUp('lisa');
    const { agentId } = await browser.token();
    const recorded = () =>
      dbA.db.select().from(lettaTokens).where(eq(lettaTokens.agentId, agentId));
    expect(await recorded()).toHaveLength(1);
    aClock.advance(11 * 60 * 1000);
    await sweepExpired(aDeps, { retainMs: 60_000 });
    aClock.reset();
    expect(await recorded()).toEqual([]);
  });

  it('renames the agent at Letta', async () => {
    const browser = await signedUp('lukas');
    const renamed = await browser.call('session.renameAgent', { name: 'Lukas helper' });
    expect(renamed.status).toBe(200);
    const { agentId } = (await browser.call('session.me', undefined, true)).data as {
      agentId: string;
    };
    expect((await atB().agents.retrieve(agentId)).name).toBe('Lukas helper');
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("Letta's failures, as this server's answers", () => {
  async function appWith(config: { baseUrl: string; apiKey: string }, deps = makeDeps(dbA)) {
    const lines: string[] = [];
    const server = await startTestServer(lettaMode(deps, config), {
      level: 'warn',
      stream: { write: (line) => lines.push(line) },
    });
    return { server, lines };
  }

  it('answers 503 when Letta is unreachable, and logs which Letta', async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}`;
    const { server, lines } = await appWith({ baseUrl, apiKey: 'sk-let-secret-unreachable' });
    try {
      const answer = await new Browser(server.baseUrl).call('session.signUp', {
        username: 'ursula',
        password: 'a password!',
      });
      expect(answer.status).toBe(503);
      expect(answer.error?.message).toMatch(/agent host \(Letta\) cannot be reached/);
      expect(lines.join('')).toContain(`Letta at ${baseUrl} unreachable`);
      expect(lines.join('')).not.toContain('sk-let-secret-unreachable');
      // Nothing was written: the person can sign up once Letta is back.
      expect(await dbA.db.select().from(users).where(eq(users.username, 'ursula'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('answers 502 naming LETTA_API_KEY when Letta refuses the key, without the key', async () => {
    const key = 'sk-let-not-a-real-key-0123456789';
    const { server, lines } = await appWith({ baseUrl: b.baseUrl, apiKey: key });
    try {
      const answer = await new Browser(server.baseUrl).call('session.signUp', {
        username: 'rolf',
        password: 'a password!',
      });
      expect(answer.status).toBe(502);
      expect(answer.error?.message).toMatch(/refused this server's key.*LETTA_API_KEY/);
      expect(answer.error?.message).not.toContain('Invalid API Key');
      expect(lines.join('')).toContain(`Letta at ${b.baseUrl} answered 401`);
      expect(lines.join('')).not.toContain(key);
    } finally {
      await server.close();
    }
  });

  it("answers 429 with Letta's wait when Letta rate-limits the key", async () => {
    // A Letta that allows this key one request a minute.
    const limitedDeps = makeDeps(dbB, new TestClock(), { apiKeyPerMinute: 1 });
    const limited = await startTestServer(limitedDeps);
    const { server } = await appWith({ baseUrl: limited.baseUrl, apiKey: bOrg.apiKey });
    try {
      const browser = new Browser(server.baseUrl);
      expect(
        (await browser.call('session.signUp', { username: 'rita', password: 'a password!' }))
          .status,
      ).toBe(200);
      const answer = await browser.call('session.token');
      expect(answer.status).toBe(429);
      expect(answer.error?.message).toMatch(/rate-limiting this server.*retry in \d+ s/);
    } finally {
      await server.close();
      await limited.close();
    }
  });

  it('keeps upstream details out of the main app log', () => {
    expect(logLines.join('')).not.toContain(bOrg.apiKey);
  });
});
