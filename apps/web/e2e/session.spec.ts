import { expect, type Route, test } from '@playwright/test';
import {
  callFromPage,
  connection,
  loggedInPage,
  logIn,
  messages,
  send,
  signedUpPage,
} from './support';

// The session around the chat: what a token may reach, logging out (in this tab, in another,
// when the server does not confirm it), who sees the admin page, and a server unreachable at
// the first load.
test.describe.configure({ mode: 'serial' });

test("log-out ends access, and one user's token is refused on another's agent", async ({
  browser,
}) => {
  const bob = await loggedInPage(browser, 'bob');
  const bobMe = await callFromPage(bob, { path: 'session.me', method: 'GET' });
  const bobAgent = (bobMe.body.result as { data: { agentId: string } }).data.agentId;

  const alice = await loggedInPage(browser, 'alice');
  const minted = await callFromPage(alice, { path: 'session.token', method: 'POST' });
  expect(minted.status).toBe(200);
  const { token, agentId } = (minted.body.result as { data: { token: string; agentId: string } })
    .data;
  expect(token).toMatch(/^ck-let-/);

  const own = await callFromPage(alice, {
    path: 'messages.list',
    method: 'GET',
    input: { agentId, limit: 1 },
    bearer: token,
  });
  expect(own.status).toBe(200);
  for (const path of ['messages.list', 'agents.retrieve']) {
    const foreign = await callFromPage(alice, {
      path,
      method: 'GET',
      input: { agentId: bobAgent },
      bearer: token,
    });
    expect(foreign.status).toBe(403);
  }
  const foreignSend = await callFromPage(alice, {
    path: 'messages.send',
    method: 'POST',
    input: { agentId: bobAgent, content: 'Reading your mail' },
    bearer: token,
  });
  expect(foreignSend.status).toBe(403);
  // The live stream, opened as the app opens it (the token in the Authorization header): the
  // refusal arrives as the stream's error.
  const foreignStream = await alice.evaluate(
    async ({ agentId, token }) => {
      const query = new URLSearchParams({ input: JSON.stringify({ agentId }) });
      const response = await fetch(`/trpc/messages.events?${query}`, {
        credentials: 'omit',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      });
      const text = await response.text();
      if (/^event: message$/m.test(text)) return 'a message from the other agent arrived';
      return JSON.parse(/event: serialized-error\ndata: (.*)\n/.exec(text)?.[1] ?? 'null');
    },
    { agentId: bobAgent, token },
  );
  expect(foreignStream).toMatchObject({ data: { code: 'FORBIDDEN', httpStatus: 403 } });

  await alice.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(alice).toHaveURL(/\/login$/);
  await expect(alice.getByRole('status')).toHaveText('You have logged out.');
  const after = await callFromPage(alice, {
    path: 'messages.list',
    method: 'GET',
    input: { agentId, limit: 1 },
    bearer: token,
  });
  expect(after.status).toBe(401);
  expect((await callFromPage(alice, { path: 'session.token', method: 'POST' })).status).toBe(401);
  const me = await callFromPage(alice, { path: 'session.me', method: 'GET' });
  expect((me.body.result as { data: unknown }).data).toBeNull();
  await alice.goto('/');
  await expect(alice).toHaveURL(/\/login$/);
  await alice.context().close();
  await bob.context().close();
});

test('logging out in one tab ends the session in the other tabs of that browser', async ({
  browser,
}) => {
  const alice = await loggedInPage(browser, 'alice');
  const aliceElsewhere = await alice.context().newPage();
  await aliceElsewhere.goto('/');
  await expect(connection(aliceElsewhere)).toHaveText('Live');

  const admin = await loggedInPage(browser, 'admin');
  await admin.goto('/admin');
  await expect(admin).toHaveTitle('Live tokens · scopekit chat');
  const adminElsewhere = await admin.context().newPage();
  await adminElsewhere.goto('/');

  await alice.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(alice).toHaveURL(/\/login$/);
  // The other tab's live stream loses its (revoked) token, finds the session gone, and
  // returns to the log-in page by itself.
  await expect(aliceElsewhere).toHaveURL(/\/login$/, { timeout: 30_000 });
  await expect(aliceElsewhere.getByRole('status')).toHaveText(
    'Your session has ended. Log in again.',
  );

  // The admin page's next call is refused, and it too returns to log-in.
  await adminElsewhere.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(adminElsewhere).toHaveURL(/\/login$/);
  await admin.getByRole('button', { name: 'Refresh' }).click();
  await expect(admin).toHaveURL(/\/login$/);
  await expect(admin.getByRole('status')).toHaveText('Your session has ended. Log in again.');
  await expect(admin).toHaveTitle('Log in · scopekit chat');
  await alice.context().close();
  await admin.context().close();
});

test('log out everywhere ends the session in another browser as well', async ({ browser }) => {
  const here = await signedUpPage(browser, 'everywhere');
  const me = await callFromPage(here, { path: 'session.me', method: 'GET' });
  const { username } = (me.body.result as { data: { username: string } }).data;
  const elsewhere = await (await browser.newContext()).newPage();
  await logIn(elsewhere, username, `${username} password`);
  await expect(connection(elsewhere)).toHaveText('Live');

  await here.getByRole('button', { name: 'Log out everywhere' }).click();
  await expect(here).toHaveURL(/\/login$/);
  await expect(here.getByRole('status')).toHaveText('You have logged out everywhere.');
  // The other browser's session is over: its cookie mints nothing, and its page, whose
  // stream lost its revoked token, returns to the log-in page by itself.
  expect((await callFromPage(elsewhere, { path: 'session.token', method: 'POST' })).status).toBe(
    401,
  );
  await expect(elsewhere).toHaveURL(/\/login$/, { timeout: 30_000 });
  await expect(elsewhere.getByRole('status')).toHaveText('Your session has ended. Log in again.');
  await here.context().close();
  await elsewhere.context().close();
});

test('the admin page is for admins: anyone else lands on the chat', async ({ browser }) => {
  const bob = await loggedInPage(browser, 'bob');
  await bob.goto('/admin');
  await expect(bob).toHaveURL(/\/$/);
  await expect(bob).toHaveTitle('Chat · scopekit chat');
  await expect(bob.getByRole('link', { name: 'Tokens' })).toHaveCount(0);
  await bob.context().close();
});

test('a log-out the server did not confirm keeps the session, says so, and can be retried', async ({
  browser,
}) => {
  const alice = await loggedInPage(browser, 'alice');
  await expect(connection(alice)).toHaveText('Live');
  // Every log-out is held until the test fails it, so the page can be looked at meanwhile.
  const held: Route[] = [];
  const isLogOut = (url: URL) => url.pathname === '/trpc/session.logOut';
  await alice.route(isLogOut, (route) => {
    held.push(route);
  });
  const logOut = alice.getByRole('button', { name: 'Log out', exact: true });
  await logOut.focus();
  await alice.keyboard.press('Enter');
  await expect.poll(() => held.length).toBe(1);
  // The pressed button keeps the focus while it waits, and pressing it again does nothing.
  await expect(logOut).toHaveAttribute('aria-disabled', 'true');
  await expect(logOut).toBeFocused();
  await alice.keyboard.press('Enter');
  await held[0]?.abort('connectionfailed');
  const alert = alice.getByRole('alert');
  await expect(alert).toContainText('Could not log out, so you are still logged in');
  expect(held).toHaveLength(1);
  const tryAgain = alice.getByRole('button', { name: 'Try again' });
  await expect(tryAgain).toBeFocused();
  await expect(alice).toHaveURL(/\/$/);
  // The session and its token are still good, and the chat goes on with them.
  await send(alice, 'Still here after a failed log-out');
  await expect(messages(alice).locator('.message.user').last()).toHaveAttribute(
    'data-state',
    'stored',
  );

  // Failing the same way again: "Try again" keeps the focus throughout, and the alert, empty
  // while it waits, says it once more (new text, so screen readers hear it again).
  await tryAgain.focus();
  await alice.keyboard.press('Enter');
  await expect.poll(() => held.length).toBe(2);
  await expect(alice.getByRole('button', { name: 'Logging out…' })).toBeFocused();
  await expect(alert).toHaveText('');
  await held[1]?.abort('connectionfailed');
  await expect(alert).toContainText('Could not log out, so you are still logged in');
  await expect(tryAgain).toBeFocused();

  await alice.unroute(isLogOut);
  await alice.keyboard.press('Enter');
  await expect(alice).toHaveURL(/\/login$/);
  await expect(alice.getByRole('status')).toHaveText('You have logged out.');
  const me = await callFromPage(alice, { path: 'session.me', method: 'GET' });
  expect((me.body.result as { data: unknown }).data).toBeNull();
  await alice.context().close();
});

test('a server unreachable at the first load is said, with a retry, and nothing throws', async ({
  page,
}) => {
  const uncaught: Error[] = [];
  page.on('pageerror', (error) => uncaught.push(error));
  const held: Route[] = [];
  const isMe = (url: URL) => url.pathname === '/trpc/session.me';
  await page.route(isMe, (route) => {
    held.push(route);
  });
  await page.goto('/');
  await expect.poll(() => held.length).toBe(1);
  await held[0]?.abort('connectionrefused');
  const alert = page.getByRole('alert');
  const unreachable = 'Cannot reach the server. Check your connection and try again.';
  await expect(alert).toHaveText(unreachable);
  const tryAgain = page.getByRole('button', { name: 'Try again' });
  await expect(tryAgain).toBeFocused();

  // A retry that fails the same way: the button keeps the focus while it waits (pressing it
  // again does nothing), and the alert, emptied meanwhile, says it once more.
  await page.keyboard.press('Enter');
  await expect.poll(() => held.length).toBe(2);
  const retrying = page.getByRole('button', { name: 'Trying again…' });
  await expect(retrying).toHaveAttribute('aria-disabled', 'true');
  await expect(retrying).toBeFocused();
  await expect(alert).toHaveText('');
  await page.keyboard.press('Enter');
  await held[1]?.abort('connectionrefused');
  await expect(alert).toHaveText(unreachable);
  await expect(tryAgain).toBeFocused();
  expect(held).toHaveLength(2);

  await page.unroute(isMe);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  expect(uncaught).toEqual([]);
});
