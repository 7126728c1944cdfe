import { expect, type Page, type Request, test } from '@playwright/test';
import { dataDirFromSnapshot } from './database-snapshot';
import { createApiKey, freePort, type ServerProcess, startServer, stopAll } from './servers';
import { DEV_PASSWORDS, messages, send } from './support';

// The browser talks to its agent on another origin than the app's, as every real deployment
// of client-side tokens does. First with Letta as the agent host: app server A (serving the
// web app, SCOPEKIT_AGENT_HOST=letta) whose "Letta" is a second scopekit, B, on another
// port. Then scopekit itself split in two origins. Every agent call is read off the
// browser's own network events.
test.describe.configure({ mode: 'serial', timeout: 240_000 });

interface Seen {
  url: URL;
  method: string;
  headers: Record<string, string>;
}

/** Every request the page makes, with all its headers (the cookie included). */
function recordRequests(page: Page) {
  const seen: Promise<Seen>[] = [];
  page.on('request', (request: Request) => {
    seen.push(
      request
        .allHeaders()
        .then((headers) => ({ url: new URL(request.url()), method: request.method(), headers })),
    );
  });
  return () => Promise.all(seen);
}

/** Signs up through the app's own form, then waits for the chat. */
async function signUp(page: Page, origin: string, username: string) {
  await page.goto(`${origin}/login`);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username} password`);
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeVisible();
}

/** Chats once, reloads (the history comes back), and logs out. */
async function walkthrough(page: Page) {
  await send(page, 'hello from another origin');
  await expect(messages(page).getByRole('listitem').last()).toContainText(/\S/);
  await expect(messages(page)).toContainText('hello from another origin');
  // The reply has arrived whole once the composer is free again.
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  const before = await messages(page).getByRole('listitem').count();
  expect(before).toBeGreaterThanOrEqual(2);
  await page.reload();
  await expect(messages(page)).toContainText('hello from another origin');
  await expect(messages(page).getByRole('listitem')).toHaveCount(before);
}

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
}

test.describe('Letta as the agent host: the browser calls B, never A', () => {
  let b: ServerProcess;
  let a: ServerProcess;
  let apiKey: string;

  test.beforeAll(async () => {
    // Three processes start on a shared machine (the CLI, then B and A side by side): each
    // may take a while. A needs only B's address and key to start, not B itself.
    test.setTimeout(240_000);
    const bData = dataDirFromSnapshot();
    apiKey = await createApiKey(bData, 'letta');
    const bPort = await freePort();
    let aPort = await freePort();
    while (aPort === bPort) aPort = await freePort();
    [b, a] = await Promise.all([
      startServer(bData, {}, bPort),
      startServer(
        dataDirFromSnapshot(),
        {
          SCOPEKIT_WEB_ORIGINS: `http://127.0.0.1:${aPort}`,
          SCOPEKIT_AGENT_HOST: 'letta',
          LETTA_BASE_URL: `http://127.0.0.1:${bPort}`,
          LETTA_API_KEY: apiKey,
        },
        aPort,
      ),
    ]);
  });
  test.afterAll(async () => {
    await a?.stop();
    await b?.stop();
    stopAll();
  });

  test('sign up on A, chat, reload, log out: every agent call went to B with the token', async ({
    page,
    browser,
  }) => {
    const requests = recordRequests(page);
    const minted: string[] = [];
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname === '/trpc/session.token') {
        // Batched by the app's tRPC client: an array of answers.
        const body = (await response.json()) as { result?: { data: { token: string } } }[];
        for (const answer of [body].flat())
          if (answer.result) minted.push(answer.result.data.token);
      }
    });
    await signUp(page, a.origin, `lea${Date.now().toString(36)}`);
    await expect(page.getByTestId('letta-host')).toBeVisible();
    await walkthrough(page);
    const agentId = await page.evaluate(async () => {
      const response = await fetch('/trpc/session.me', { credentials: 'include' });
      return ((await response.json()) as { result: { data: { agentId: string } } }).result.data
        .agentId;
    });

    // A PATCH from the page: the session's token may not write the agent (403, readable:
    // the preflight let PATCH through); a token that allows it succeeds.
    const patch = (token: string) =>
      page.evaluate(
        async ({ url, token }) => {
          const response = await fetch(url, {
            method: 'PATCH',
            credentials: 'omit',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'Renamed from the page' }),
          });
          return response.status;
        },
        { url: `${b.origin}/v1/agents/${agentId}`, token },
      );
    const sessionToken = minted.at(-1) ?? '';
    expect(await patch(sessionToken)).toBe(403);
    const writer = await fetch(`${b.origin}/v1/client-side-access-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        hostname: a.origin,
        policy: [{ type: 'agent', id: agentId, access: ['read_agent', 'write_agent'] }],
      }),
    });
    const { token: writeToken } = (await writer.json()) as { token: string };
    expect(await patch(writeToken)).toBe(200);
    const renamed = await fetch(`${b.origin}/v1/agents/${agentId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(((await renamed.json()) as { name: string }).name).toBe('Renamed from the page');

    // A's admin screen: the tokens A recorded, joined with what B (its Letta) reports.
    const admin = await browser.newContext().then((context) => context.newPage());
    await admin.goto(`${a.origin}/login`);
    await admin.getByLabel('Username').fill('admin');
    await admin.getByLabel('Password').fill(DEV_PASSWORDS.admin);
    await admin.getByRole('button', { name: 'Log in', exact: true }).click();
    await expect(admin.getByRole('textbox', { name: 'Message' })).toBeVisible();
    await admin.goto(`${a.origin}/admin`);
    await expect(admin.getByRole('columnheader', { name: 'At Letta' })).toBeVisible();
    await expect(admin.getByRole('cell', { name: 'live' }).first()).toBeVisible();
    await admin.context().close();

    // Tokens B lists under A's key, before log-out revokes them.
    const listedAtB = await fetch(
      `${b.origin}/v1/client-side-access-tokens?agentId=${agentId}&limit=100`,
      { headers: { authorization: `Bearer ${apiKey}` } },
    );
    const atB = ((await listedAtB.json()) as { tokens: { token: string }[] }).tokens.map(
      (t) => t.token,
    );
    await logOut(page);

    const all = await requests();
    const toB = all.filter((r) => r.url.origin === b.origin && r.method !== 'OPTIONS');
    const toA = all.filter((r) => r.url.origin === a.origin);
    const agentCalls = toB.filter((r) => r.url.pathname.startsWith('/v1/agents/'));
    // History, the streamed send, the agent's memory and name, at least.
    expect(agentCalls.some((r) => r.url.pathname.endsWith('/messages/stream'))).toBe(true);
    expect(agentCalls.some((r) => r.url.pathname.endsWith('/messages'))).toBe(true);
    const used = new Set<string>();
    for (const call of toB) {
      expect(call.headers.authorization).toMatch(/^Bearer ck-let-/);
      expect(call.headers.cookie).toBeUndefined();
      used.add(call.headers.authorization?.slice('Bearer '.length) ?? '');
    }
    // Nothing about the agent went to A: only the page, its assets, and session calls.
    for (const call of toA) {
      expect(call.url.pathname).not.toMatch(/^\/v1\//);
      if (call.url.pathname.startsWith('/trpc/'))
        expect(call.url.pathname).toMatch(/^\/trpc\/session\./);
    }
    // The token B saw was A's session.token answer, minted at B (B lists it under A's key),
    // except the one this test minted itself for the PATCH.
    used.delete(writeToken);
    expect(used.size).toBeGreaterThan(0);
    for (const token of used) {
      expect(minted).toContain(token);
      expect(atB).toContain(token);
      // After log-out, B refuses it.
      const after = await fetch(`${b.origin}/v1/agents/${agentId}/messages`, {
        headers: { authorization: `Bearer ${token}`, origin: a.origin },
      });
      expect(after.status).toBe(401);
    }
  });

  test('Stop in Letta mode cancels the run at B: the reply so far stays, stored by B', async ({
    page,
  }) => {
    const requests = recordRequests(page);
    await signUp(page, a.origin, `stp${Date.now().toString(36)}`);
    await expect(page.getByTestId('letta-host')).toBeVisible();
    // B's builtin agent echoes word by word (30 ms apart by default): several seconds.
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    await send(page, long);
    const reply = messages(page).locator('.message.assistant').last();
    await expect(reply).toContainText('word3 ');
    const stop = page.getByRole('button', { name: 'Stop' });
    await stop.click();

    await expect(stop).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
    await expect(messages(page).locator('[data-state="streaming"]')).toHaveCount(0);
    await expect(page.getByRole('alert')).toHaveCount(0);
    const partial = (await reply.locator('p').textContent()) ?? '';
    expect(partial).toContain('word3 ');
    expect(partial).not.toContain('word299');

    // B stored what was said so far: the history A's page reads back from B.
    await page.reload();
    const stored = messages(page).locator('.message.assistant').last();
    await expect(stored).toContainText('word3 ');
    const storedText = (await stored.locator('p').textContent()) ?? '';
    expect(storedText).not.toContain('word299');
    expect(`You said: \u201c${long}\u201d.`.startsWith(storedText)).toBe(true);
    await expect(page.getByRole('alert')).toHaveCount(0);

    const cancels = (await requests()).filter(
      (r) => r.method === 'POST' && r.url.pathname.endsWith('/messages/cancel'),
    );
    expect(cancels).toHaveLength(1);
    const [cancel] = cancels;
    expect(cancel?.url.origin).toBe(b.origin);
    expect(cancel?.headers.authorization).toMatch(/^Bearer ck-let-/);
    expect(cancel?.headers.cookie).toBeUndefined();
  });
});

test.describe('scopekit split across two origins: the web app on one, the agent API on another', () => {
  let server: ServerProcess;
  let web: string;

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    const port = await freePort();
    // One process answering on two origins (two host names), as split-deployment.test.ts
    // does with two listeners: the agent API's origin is 127.0.0.1, the app's localhost.
    web = `http://localhost:${port}`;
    server = await startServer(
      dataDirFromSnapshot(),
      {
        SCOPEKIT_WEB_ORIGINS: web,
        SCOPEKIT_AGENT_API_URL: `http://127.0.0.1:${port}`,
      },
      port,
    );
  });
  test.afterAll(async () => {
    await server?.stop();
    stopAll();
  });

  test('sign up, chat, reload, log out: agent calls went to the agent origin only', async ({
    page,
  }) => {
    const requests = recordRequests(page);
    await signUp(page, web, `sam${Date.now().toString(36)}`);
    await expect(page.getByTestId('connection')).toHaveText('Live');
    await walkthrough(page);

    // A PATCH on the REST agent API from the page: the preflight lets it through, and the
    // session's token (no write_agent) is refused with a status the page can read.
    const agentId = await page.evaluate(async () => {
      const response = await fetch('/trpc/session.me', { credentials: 'include' });
      return ((await response.json()) as { result: { data: { agentId: string } } }).result.data
        .agentId;
    });
    const all1 = await requests();
    const token =
      all1
        .find((r) => r.url.origin === server.origin && r.headers.authorization)
        ?.headers.authorization?.slice('Bearer '.length) ?? '';
    const patched = await page.evaluate(
      async ({ url, token }) =>
        (
          await fetch(url, {
            method: 'PATCH',
            credentials: 'omit',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'nope' }),
          })
        ).status,
      { url: `${server.origin}/v1/agents/${agentId}`, token },
    );
    expect(patched).toBe(403);
    await logOut(page);

    const all = await requests();
    const toAgent = all.filter((r) => r.url.origin === server.origin && r.method !== 'OPTIONS');
    const toWeb = all.filter((r) => r.url.origin === web);
    expect(toAgent.some((r) => r.url.pathname === '/trpc/messages.send')).toBe(true);
    const used = new Set<string>();
    for (const call of toAgent) {
      expect(call.headers.authorization).toMatch(/^Bearer ck-let-/);
      expect(call.headers.cookie).toBeUndefined();
      used.add(call.headers.authorization?.slice('Bearer '.length) ?? '');
    }
    for (const call of toWeb) {
      if (call.url.pathname.startsWith('/trpc/'))
        expect(call.url.pathname).toMatch(/^\/trpc\/session\./);
    }
    for (const token of used) {
      const after = await fetch(
        `${server.origin}/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ agentId }))}`,
        { headers: { authorization: `Bearer ${token}`, origin: web } },
      );
      expect(after.status).toBe(401);
    }
  });
});
