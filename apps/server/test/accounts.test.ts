import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { authenticateUser, signUp } from '../src/accounts/users.js';
import { withLoginLimits } from '../src/auth/rate-limit.js';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { agents, clientTokens, rateLimitCounters, sessions, users } from '../src/db/schema.js';
import type { ServiceDeps } from '../src/deps.js';
import { RateLimiter } from '../src/infra/rate-limiter.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { appRouter } from '../src/trpc/router.js';
import { createCallerFactory } from '../src/trpc/trpc.js';
import { SessionJar } from './support/cookie-jar.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, TestClock } from './support/fixtures.js';
import { trpcError } from './support/trpc-error.js';

let database: TestDatabase;
let deps: ServiceDeps;
const clock = new TestClock();
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  database = await openTestDatabase();
  deps = makeDeps(database, clock);
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.reset();
  clock.reset();
});

/** A browser: its cookie jar, its origin, its address. */
function browser(options: { origin?: string; address?: string } = {}) {
  const jar = new SessionJar();
  const caller = () =>
    createCaller(
      createContextFromHeaders(
        deps,
        { origin: options.origin ?? APP_ORIGIN },
        {
          sessionId: jar.sessionId,
          clientAddress: options.address ?? '127.0.0.1',
          sessionCookie: jar,
        },
      ),
    );
  return { jar, caller };
}

const bearer = (token: string, origin = APP_ORIGIN) =>
  createCaller(createContextFromHeaders(deps, { authorization: `Bearer ${token}`, origin }));

describe('sign-up and log-in', () => {
  it('signs up a user with their own agent, sets a session, and answers me', async () => {
    const alice = browser();
    const { user } = await alice
      .caller()
      .session.signUp({ username: 'Alice', password: 'correct horse' });
    expect(user).toMatchObject({
      username: 'alice',
      role: 'user',
      agentId: expect.stringMatching(/^agent-/),
    });
    expect(alice.jar.sessionId).toMatch(/^[\w-]{43}$/);
    expect(await alice.caller().session.me()).toEqual(user);

    // Only hashes are stored: neither the password nor the session id appear in the database.
    const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.passwordHash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(row?.passwordHash).not.toContain('correct horse');
    const stored = await database.db.select().from(sessions);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.idHash).not.toBe(alice.jar.sessionId);
  });

  it('hashes at OWASP’s minimum scrypt cost as configured, and verifies a hash at any cost', async () => {
    // The suite's deps hash at a lower cost (TEST_PASSWORD_COST); the server and the CLI take
    // theirs from loadConfig.
    const { passwordCost } = loadConfig({}).accounts;
    const configured = { ...deps, accounts: { ...deps.accounts, passwordCost } };
    const user = await signUp(configured, { username: 'paula', password: 'correct horse' });
    const [row] = await database.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await authenticateUser(deps, { username: 'paula', password: 'correct horse' })).toEqual(
      user,
    );
    await expect(
      authenticateUser(deps, { username: 'paula', password: 'correct horse!' }),
    ).rejects.toThrow('Wrong username or password');
  });

  it('refuses a taken username (in any case) with 409, and bad input naming the field', async () => {
    await browser().caller().session.signUp({ username: 'bob', password: 'password one' });
    const taken = await trpcError(
      browser().caller().session.signUp({ username: 'BOB', password: 'password two' }),
    );
    expect(taken.code).toBe('CONFLICT');
    expect(taken.message).toBe('username: The username "bob" is taken');
    const short = await trpcError(
      browser().caller().session.signUp({ username: 'carol', password: 'short' }),
    );
    expect(short.code).toBe('BAD_REQUEST');
    expect(short.message).toMatch(/^password: must be 8 to 200 characters/);
    const badName = await trpcError(
      browser().caller().session.signUp({ username: 'a b', password: 'long enough' }),
    );
    expect(badName.message).toMatch(/^username: must be 3 to 32 characters/);
    expect(await database.db.select().from(users)).toHaveLength(1);
  });

  it('logs in with the right password only, with one message for every failure', async () => {
    await browser().caller().session.signUp({ username: 'dana', password: 'dana password' });
    const wrong = await trpcError(
      browser().caller().session.logIn({ username: 'dana', password: 'not it at all' }),
    );
    const unknown = await trpcError(
      browser().caller().session.logIn({ username: 'nobody', password: 'dana password' }),
    );
    expect([wrong.code, unknown.code]).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED']);
    expect(wrong.message).toBe(unknown.message);

    const dana = browser();
    const { user } = await dana
      .caller()
      .session.logIn({ username: ' Dana ', password: 'dana password' });
    expect(user.username).toBe('dana');
    expect(await dana.caller().session.me()).toEqual(user);
  });

  it('answers null from me without a session, and UNAUTHORIZED for a made-up or expired one', async () => {
    const anon = browser();
    expect(await anon.caller().session.me()).toBeNull();
    anon.jar.sessionId = 'made-up';
    expect(await anon.caller().session.me()).toBeNull();
    expect((await trpcError(anon.caller().session.token())).code).toBe('UNAUTHORIZED');

    const erin = browser();
    await erin.caller().session.signUp({ username: 'erin', password: 'erin password' });
    clock.advance(deps.accounts.sessionTtlMs);
    expect(await erin.caller().session.me()).toBeNull();
    expect((await trpcError(erin.caller().session.token())).code).toBe('UNAUTHORIZED');
  });

  it('refuses cookie calls from an origin that is not the web app', async () => {
    const evil = browser({ origin: 'https://evil.example.com' });
    const error = await trpcError(
      evil.caller().session.signUp({ username: 'frank', password: 'frank password' }),
    );
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/not one of the web app's origins/);
  });
});

describe('failed log-ins are limited per address', () => {
  it('refuses the sixth failure and even a right password until the window passes', async () => {
    // Limits count per minute; starting at a minute's top keeps the six tries in one.
    clock.startOfWindow();
    await browser().caller().session.signUp({ username: 'gina', password: 'gina password' });
    const attacker = browser({ address: '203.0.113.9' });
    for (let i = 0; i < deps.accounts.loginFailuresPerMinute; i++) {
      const error = await trpcError(
        attacker.caller().session.logIn({ username: 'gina', password: `guess ${i}!` }),
      );
      expect(error.code).toBe('UNAUTHORIZED');
    }
    const limited = await trpcError(
      attacker.caller().session.logIn({ username: 'gina', password: 'gina password' }),
    );
    expect(limited.code).toBe('TOO_MANY_REQUESTS');
    expect(limited.message).toMatch(/^Too many failed log-ins; retry in \d+ s$/);

    // Another address is not affected, and successes never count.
    const gina = browser({ address: '198.51.100.7' });
    for (let i = 0; i < 8; i++)
      await gina.caller().session.logIn({ username: 'gina', password: 'gina password' });

    clock.advance(60_000);
    await attacker.caller().session.logIn({ username: 'gina', password: 'gina password' });
  });
});

describe('failed log-ins are limited per username too', () => {
  /** Guesses at one username, each from an address of its own. */
  async function spreadGuesses(username: string, count: number) {
    for (let i = 0; i < count; i++) {
      const error = await trpcError(
        browser({ address: `198.51.100.${i}` })
          .caller()
          .session.logIn({ username, password: `guess ${i}!` }),
      );
      expect(error.code).toBe('UNAUTHORIZED');
    }
  }

  it('slows guesses spread over many addresses, alike for known and unknown usernames', async () => {
    clock.startOfWindow();
    await browser().caller().session.signUp({ username: 'hugo', password: 'hugo password' });
    const limit = 4;
    const original = deps.accounts.loginFailuresPerUsernamePerMinute;
    deps.accounts.loginFailuresPerUsernamePerMinute = limit;
    onTestFinished(() => {
      deps.accounts.loginFailuresPerUsernamePerMinute = original;
    });
    await spreadGuesses('hugo', limit);
    await spreadGuesses('no-such-user', limit);

    const fresh = () => browser({ address: '192.0.2.200' }).caller();
    const known = await trpcError(fresh().session.logIn({ username: 'HUGO', password: 'x!' }));
    const unknown = await trpcError(
      fresh().session.logIn({ username: 'no-such-user', password: 'x!' }),
    );
    // Same answer either way, naming neither the username nor the address.
    expect([known.code, unknown.code]).toEqual(['TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS']);
    expect(known.message).toMatch(/^Too many failed log-ins; retry in \d+ s$/);
    expect(unknown.message).toBe(known.message);
    // Even the right password waits, or the limit would confirm a right guess.
    const right = await trpcError(
      fresh().session.logIn({ username: 'hugo', password: 'hugo password' }),
    );
    expect(right.code).toBe('TOO_MANY_REQUESTS');

    // Other usernames from that address are unaffected, and the next window starts afresh.
    expect(
      (await trpcError(fresh().session.logIn({ username: 'someone', password: 'x!' }))).code,
    ).toBe('UNAUTHORIZED');
    clock.advance(60_000);
    await fresh().session.logIn({ username: 'hugo', password: 'hugo password' });
  });

  it('shares the username counters under a keyed hash, never a bare hash of what was typed', async () => {
    const key = SecretBox.generateKey();
    /** One failed log-in on a server started with `encryptionKey`; the counter keys it stored. */
    async function failedLogInStores(encryptionKey: string): Promise<string[]> {
      await database.db.delete(rateLimitCounters);
      const secrets = SecretBox.fromString(encryptionKey);
      const rateLimiter = new RateLimiter(database.db, clock.now, 60_000);
      try {
        // Someone types their password into the username field.
        await expect(
          withLoginLimits(
            { ...deps, secrets, rateLimiter },
            { clientAddress: '192.0.2.1', username: 'Hunter2-Secret' },
            () => authenticateUser(deps, { username: 'Hunter2-Secret', password: 'x' }),
          ),
        ).rejects.toThrow(/Wrong username or password/);
        await rateLimiter.sync();
      } finally {
        await rateLimiter.close();
      }
      return (await database.db.select().from(rateLimitCounters)).map((row) => row.key).sort();
    }
    const keys = await failedLogInStores(key);
    expect(keys).toHaveLength(2);
    const stored = keys.join(' ');
    expect(stored).not.toMatch(/hunter2/i);
    // A word list hashed with SHA-256 finds nothing to match.
    for (const typed of ['hunter2-secret', 'Hunter2-Secret'])
      expect(stored).not.toContain(createHash('sha256').update(typed).digest('hex'));
    // The same key after a restart counts under the same row; another key, under another.
    expect(await failedLogInStores(key)).toEqual(keys);
    const other = await failedLogInStores(SecretBox.generateKey());
    expect(other.find((k) => k.startsWith('login-user:'))).not.toBe(
      keys.find((k) => k.startsWith('login-user:')),
    );
  });
});

describe('sign-up', () => {
  it('writes the user and the agent together: a failed insert leaves no agent behind', async () => {
    // A real failure of the users insert that is not a username clash.
    await database.db.execute(sql`
      create function refuse_user() returns trigger language plpgsql as $$
      begin raise exception 'refused by test trigger'; end $$`);
    await database.db.execute(sql`
      create trigger refuse_user before insert on users for each row execute function refuse_user()`);
    try {
      await ensureOrganization(deps, deps.accounts.organizationName);
      await expect(
        signUp(deps, { username: 'orphan', password: 'orphan password' }),
      ).rejects.toThrow();
      expect(await database.db.select().from(agents)).toEqual([]);
    } finally {
      await database.db.execute(sql`drop trigger refuse_user on users`);
      await database.db.execute(sql`drop function refuse_user()`);
    }
  });

  it('gives one of two racing sign-ups the name and leaves one agent', async () => {
    const results = await Promise.allSettled([
      signUp(deps, { username: 'twin', password: 'first password' }),
      signUp(deps, { username: 'TWIN', password: 'second password' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rows = await database.db.select().from(agents);
    expect(rows).toHaveLength(1);
  });

  it('can be closed to the web while the service (the CLI) still creates users', async () => {
    deps.accounts.signUp = 'closed';
    try {
      const error = await trpcError(
        browser().caller().session.signUp({ username: 'ivy', password: 'ivy password' }),
      );
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toMatch(/^Sign-up is closed on this server/);
      expect(await database.db.select().from(users)).toEqual([]);
      const ivy = await signUp(deps, { username: 'ivy', password: 'ivy password' });
      await browser().caller().session.logIn({ username: 'ivy', password: 'ivy password' });
      expect(ivy.username).toBe('ivy');
    } finally {
      deps.accounts.signUp = 'open';
    }
  });
});

describe('session tokens', () => {
  it('mints a ck-let- token for the own agent only, bound to the web origin, with expiresIn', async () => {
    const hana = browser();
    const { user } = await hana
      .caller()
      .session.signUp({ username: 'hana', password: 'hana password' });
    const ivan = browser();
    const other = await ivan
      .caller()
      .session.signUp({ username: 'ivan', password: 'ivan password' });

    const minted = await hana.caller().session.token();
    expect(minted).toEqual({
      token: expect.stringMatching(/^ck-let-/),
      expiresIn: deps.accounts.webTokenTtlMs / 1000,
      agentId: user.agentId,
      // scopekit's own agent API (tRPC), not Letta's.
      agentHost: 'scopekit',
      // Unset SCOPEKIT_AGENT_API_URL: agent calls stay on the app's origin.
      agentApiUrl: '',
    });
    const [row] = await database.db.select().from(clientTokens);
    expect(row?.hostname).toBe(APP_ORIGIN);
    expect(row?.policy.data).toEqual([
      {
        type: 'agent',
        id: user.agentId,
        access: ['read_messages', 'write_messages', 'read_agent'],
      },
    ]);

    expect(await bearer(minted.token).agents.retrieve({ agentId: user.agentId })).toMatchObject({
      id: user.agentId,
    });
    const foreign = await trpcError(
      bearer(minted.token).agents.retrieve({ agentId: other.user.agentId }),
    );
    expect(foreign.code).toBe('FORBIDDEN');
    const elsewhere = await trpcError(
      bearer(minted.token, 'https://evil.example.com').agents.retrieve({ agentId: user.agentId }),
    );
    expect(elsewhere.code).toBe('FORBIDDEN');
  });

  it('binds the token to the first web origin when the request names none, never to a header', async () => {
    deps.accounts.webOrigins = ['https://one.example.com', 'https://two.example.com'];
    try {
      const jar = new SessionJar();
      const noOrigin = () =>
        createCaller(
          createContextFromHeaders(
            deps,
            {},
            {
              sessionId: jar.sessionId,
              sessionCookie: jar,
            },
          ),
        );
      await noOrigin().session.signUp({ username: 'jack', password: 'jack password' });
      const two = createCaller(
        createContextFromHeaders(
          deps,
          { origin: 'https://two.example.com' },
          {
            sessionId: jar.sessionId,
            sessionCookie: jar,
          },
        ),
      );
      await noOrigin().session.token();
      await two.session.token();
      const rows = await database.db.select({ hostname: clientTokens.hostname }).from(clientTokens);
      expect(rows.map((r) => r.hostname).sort()).toEqual([
        'https://one.example.com',
        'https://two.example.com',
      ]);
    } finally {
      deps.accounts.webOrigins = [APP_ORIGIN];
    }
  });

  it('ends the session on log-out: the cookie, and every token it minted, stop working', async () => {
    const kim = browser();
    const { user } = await kim
      .caller()
      .session.signUp({ username: 'kim', password: 'kim password' });
    const { token } = await kim.caller().session.token();
    const stale = kim.jar.sessionId;
    await kim.caller().session.logOut();
    expect(kim.jar.sessionId).toBeUndefined();
    expect((await trpcError(bearer(token).agents.retrieve({ agentId: user.agentId }))).code).toBe(
      'UNAUTHORIZED',
    );
    kim.jar.sessionId = stale;
    expect(await kim.caller().session.me()).toBeNull();
    expect((await trpcError(kim.caller().session.token())).code).toBe('UNAUTHORIZED');
    // Logging out twice, or without a session, is harmless.
    await browser().caller().session.logOut();
  });
});

describe('admin', () => {
  async function admin() {
    const b = browser();
    await signUp(deps, { username: 'root', password: 'root password', role: 'admin' });
    await b.caller().session.logIn({ username: 'root', password: 'root password' });
    return b;
  }

  it('lists live tokens without their values, filters by agent, pages, and revokes', async () => {
    const root = await admin();
    const lee = browser();
    const { user: leeUser } = await lee
      .caller()
      .session.signUp({ username: 'lee', password: 'lee password' });
    const mo = browser();
    const { user: moUser } = await mo
      .caller()
      .session.signUp({ username: 'moe', password: 'moe password' });
    const first = await lee.caller().session.token();
    await lee.caller().session.token();
    await mo.caller().session.token();

    const all = await root.caller().admin.tokens.list();
    expect(all.tokens).toHaveLength(3);
    expect(JSON.stringify(all)).not.toContain(first.token);
    expect(all.tokens[0]).toMatchObject({
      hint: expect.stringMatching(/^ck-let-/),
      hostname: APP_ORIGIN,
    });

    const leeTokens = await root.caller().admin.tokens.list({ agentId: leeUser.agentId, limit: 1 });
    expect(leeTokens.hasNextPage).toBe(true);
    const second = await root
      .caller()
      .admin.tokens.list({ agentId: leeUser.agentId, limit: 1, offset: 1 });
    expect(second.hasNextPage).toBe(false);
    expect(
      (await root.caller().admin.tokens.list({ agentId: moUser.agentId })).tokens,
    ).toHaveLength(1);

    const users = await root.caller().admin.users.list();
    expect(users.map((u) => u.username)).toEqual(['lee', 'moe', 'root']);

    const target = all.tokens.find((t) => t.policy.data[0]?.id === moUser.agentId);
    await root.caller().admin.tokens.revoke({ id: target?.id ?? '' });
    expect((await root.caller().admin.tokens.list()).tokens).toHaveLength(2);
    const again = await trpcError(root.caller().admin.tokens.revoke({ id: target?.id ?? '' }));
    expect(again.code).toBe('NOT_FOUND');
  });

  it('is for admins only', async () => {
    const nina = browser();
    await nina.caller().session.signUp({ username: 'nina', password: 'nina password' });
    expect((await trpcError(nina.caller().admin.tokens.list())).code).toBe('FORBIDDEN');
    expect((await trpcError(browser().caller().admin.tokens.list())).code).toBe('UNAUTHORIZED');
  });
});
