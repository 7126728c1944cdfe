import { expect, type Route, test } from '@playwright/test';
import {
  callFromPage,
  connection,
  DEV_PASSWORDS,
  loggedInPage,
  logIn,
  messages,
  screenshot,
  send,
  signedUpPage,
} from './support';

test.describe.configure({ mode: 'serial' });

test('sign up: a new account gets its own agent and an empty, live chat', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(page.getByLabel('Username')).toBeFocused();
  await expect(page).toHaveTitle('Log in · scopekit chat');
  await screenshot(page, 'login');

  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByRole('heading', { name: 'Create an account' })).toBeVisible();
  const username = `carol${Date.now().toString(36)}`;
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('password: must be 8 to 200 characters');
  // The error belongs to the field it is about, which has the focus back.
  const password = page.getByLabel('Password');
  await expect(password).toBeFocused();
  await expect(password).toHaveAttribute('aria-invalid', 'true');
  await expect(password).toHaveAccessibleDescription(/must be 8 to 200 characters/);
  await expect(page.getByLabel('Username')).not.toHaveAttribute('aria-invalid');
  await screenshot(page, 'signup-error');

  await page.getByLabel('Password').fill('carol password');
  await page.getByRole('button', { name: 'Sign up', exact: true }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText('No messages yet')).toBeVisible();
  await expect(connection(page)).toHaveText('Live');
  await expect(page.getByText(username)).toBeVisible();
});

test('log in, chat with a streamed reply, reload and see the history', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password');
  // Which of the two was wrong is not said, so both are marked; the password is to retype.
  await expect(page.getByLabel('Password')).toBeFocused();
  for (const field of ['Username', 'Password']) {
    await expect(page.getByLabel(field)).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByLabel(field)).toHaveAccessibleDescription('Wrong username or password');
  }

  await logIn(page, 'alice', DEV_PASSWORDS.alice);
  await expect(connection(page)).toHaveText('Live');

  // Record every element a reply was seen half-written in: it streamed rather than arriving
  // whole, and (one element) it grew in place rather than being rebuilt for each piece.
  await page.evaluate(() => {
    const flags = window as unknown as { streamedIn: Set<Element> };
    flags.streamedIn = new Set();
    new MutationObserver(() => {
      const streaming = document.querySelector('.message.assistant[data-state="streaming"]');
      if (streaming) flags.streamedIn.add(streaming);
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
    });
  });
  await send(page, 'Remember that I like green tea.');
  await expect(messages(page).locator('.message.user')).toContainText([
    'Remember that I like green tea.',
  ]);
  const reply = messages(page).locator('.message.assistant[data-state="stored"]');
  await expect(reply).toHaveCount(1);
  await expect(reply.first()).not.toBeEmpty();
  expect(
    await page.evaluate(() => {
      const [element, ...others] = (window as unknown as { streamedIn: Set<HTMLElement> })
        .streamedIn;
      return {
        others: others.length,
        connected: element?.isConnected,
        state: element?.dataset.state,
      };
    }),
  ).toEqual({ others: 0, connected: true, state: 'stored' });
  await expect(page.getByTestId('announcer')).not.toBeEmpty();
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeFocused();
  await screenshot(page, 'chat');

  await page.reload();
  await expect(messages(page).locator('.message.user')).toContainText([
    'Remember that I like green tea.',
  ]);
  await expect(messages(page).locator('.message.assistant')).toHaveCount(1);

  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, 'chat-dark');
  await page.setViewportSize({ width: 390, height: 844 });
  // Laid out without list markers, the conversation is still a list of messages.
  const items = messages(page).locator('li');
  await expect(messages(page).getByRole('listitem')).toHaveCount(await items.count());
  await screenshot(page, 'chat-phone');
});

test('a second tab sees new messages live', async ({ browser }) => {
  const first = await loggedInPage(browser, 'alice');
  const second = await first.context().newPage();
  await second.goto('/');
  await expect(connection(second)).toHaveText('Live');
  // History is in before anything is sent, so what shows up next came over the live stream.
  await expect(messages(second)).toHaveAttribute('aria-busy', 'false');
  const before = await messages(second).locator('.message.assistant').count();

  await send(first, 'Hello from the first tab');
  await expect(messages(second).locator('.message.user').last()).toHaveText(
    /Hello from the first tab/,
  );
  await expect(messages(second).locator('.message.assistant[data-state="stored"]')).toHaveCount(
    before + 1,
  );
  await expect(second.getByTestId('announcer')).not.toBeEmpty();
  await first.context().close();
});

test('an admin revokes the token and the chat keeps working after a silent refresh', async ({
  browser,
}) => {
  const alice = await loggedInPage(browser, 'alice');
  await expect(connection(alice)).toHaveText('Live');
  await alice.evaluate(() => {
    const flags = window as unknown as { sawReconnecting: boolean };
    flags.sawReconnecting = false;
    const badge = document.querySelector('[data-testid="connection"]');
    if (!badge) throw new Error('no connection badge');
    new MutationObserver(() => {
      if (badge.textContent?.startsWith('Reconnecting')) flags.sawReconnecting = true;
    }).observe(badge, { subtree: true, childList: true, characterData: true });
  });
  const me = await callFromPage(alice, { path: 'session.me', method: 'GET' });
  const aliceAgent = (me.body.result as { data: { agentId: string } }).data.agentId;

  const admin = await loggedInPage(browser, 'admin');
  await admin.getByRole('link', { name: 'Tokens' }).click();
  await expect(admin.getByRole('heading', { name: 'Live tokens' })).toBeVisible();
  await admin.getByLabel('Agent').selectOption(aliceAgent);
  // The unfiltered list stays on screen until the filtered one has loaded.
  await expect(admin.locator('table')).toHaveAttribute('aria-busy', 'false');
  const rows = admin.locator('tbody tr[data-token-id]');
  await expect(rows.first()).toBeVisible();
  await expect(rows.first()).toContainText('read_messages');
  await expect(rows.first()).toContainText('http://127.0.0.1');
  // At 1280 px every column fits: the action is not pushed behind a sideways scroll.
  await expect(rows.first().getByRole('button', { name: /^Revoke/ })).toBeInViewport();
  await screenshot(admin, 'admin');
  await admin.setViewportSize({ width: 390, height: 844 });
  await expect(rows.first().getByRole('button', { name: /^Revoke/ })).toBeInViewport();
  // Laid out as cards, the tokens are still a table's rows and cells, under their headers.
  await expect(admin.getByRole('table').getByRole('columnheader')).toHaveCount(7);
  await expect(rows.first().getByRole('cell')).toHaveCount(7);
  await screenshot(admin, 'admin-phone');
  await admin.emulateMedia({ colorScheme: 'dark' });
  await screenshot(admin, 'admin-phone-dark');
  await admin.emulateMedia({ colorScheme: 'light' });
  await admin.setViewportSize({ width: 1280, height: 720 });
  // Every token alice's agent had, including the one her open chat is using. Her client may
  // mint a fresh one the moment it notices (that is the silent refresh), so the revoked ones
  // are followed by id rather than by counting rows.
  const revoked = await rows.evaluateAll((trs) =>
    trs.map((tr) => tr.getAttribute('data-token-id')),
  );
  expect(revoked.length).toBeGreaterThan(0);
  for (const [i, id] of revoked.entries()) {
    const row = admin.locator(`tbody tr[data-token-id="${id}"]`);
    await row.getByRole('button', { name: /^Revoke/ }).click();
    await expect(row).toHaveCount(0);
    // The focus does not vanish with the row: the next row's Revoke has it, after the last
    // the heading.
    const next = revoked[i + 1];
    await expect(
      next
        ? admin.locator(`tbody tr[data-token-id="${next}"]`).getByRole('button')
        : admin.getByRole('heading', { name: 'Live tokens' }),
    ).toBeFocused();
  }

  const assistantBefore = await messages(alice).locator('.message.assistant').count();
  await send(alice, 'Are you still there after the revoke?');
  await expect(messages(alice).locator('.message.assistant[data-state="stored"]')).toHaveCount(
    assistantBefore + 1,
  );
  await expect(alice.getByRole('alert')).toHaveCount(0);

  // The live stream notices the revocation too (it re-checks its credential), drops, and comes
  // back on a fresh token: a message sent from another tab still shows up live.
  await expect
    .poll(
      () =>
        alice.evaluate(() => (window as unknown as { sawReconnecting: boolean }).sawReconnecting),
      {
        timeout: 30_000,
      },
    )
    .toBe(true);
  await expect(connection(alice)).toHaveText('Live');
  const otherTab = await alice.context().newPage();
  await otherTab.goto('/');
  await send(otherTab, 'Sent from another tab after the revoke');
  await expect(messages(alice).locator('.message.user').last()).toHaveText(
    /Sent from another tab after the revoke/,
  );
  await admin.getByRole('button', { name: 'Refresh' }).click();
  await expect(rows.first()).toBeVisible();
  await admin.context().close();
  await alice.context().close();
});

test('a reply half-streamed when the stream drops comes back whole, never with a gap', async ({
  browser,
}) => {
  const page = await signedUpPage(browser, 'frank');
  await expect(connection(page)).toHaveText('Live');
  const me = await callFromPage(page, { path: 'session.me', method: 'GET' });
  const agentId = (me.body.result as { data: { agentId: string } }).data.agentId;
  // What the page shows, in order: the badge's labels, every text a reply bubble has had, and
  // the stored reply's arrival.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const badge = document.querySelector('[data-testid="connection"]');
    const list = document.querySelector('ol.messages');
    if (!badge || !list) throw new Error('no connection badge or message list');
    new MutationObserver(() => {
      const label = `badge:${badge.textContent}`;
      if (seen.filter((s) => s.startsWith('badge:')).at(-1) !== label) seen.push(label);
      const streaming = list.querySelector('.message.assistant[data-state="streaming"] p');
      if (streaming) seen.push(`text:${streaming.textContent}`);
      const stored = list.querySelector('.message.assistant[data-state="stored"] p');
      if (stored && !seen.includes('stored')) seen.push('stored', `final:${stored.textContent}`);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  // A long message (its echo streams for several seconds), sent by another client of the user's.
  const minted = await callFromPage(page, { path: 'session.token', method: 'POST' });
  const token = (minted.body.result as { data: { token: string } }).data.token;
  const content = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
  const sent = callFromPage(page, {
    path: 'messages.send',
    method: 'POST',
    input: { agentId, content },
    bearer: token,
  });
  await expect(messages(page).locator('.message.assistant[data-state="streaming"]')).toContainText(
    'word0',
  );

  // Every token of the user's is revoked mid-reply: the page's stream drops and reconnects on
  // a new token, missing the pieces sent in between (the send already under way goes on).
  const admin = await loggedInPage(browser, 'admin');
  const listed = await callFromPage(admin, {
    path: 'admin.tokens.list',
    method: 'GET',
    input: { agentId, limit: 100 },
  });
  const ids = (listed.body.result as { data: { tokens: { id: string }[] } }).data.tokens;
  for (const { id } of ids) {
    const revoked = await callFromPage(admin, {
      path: 'admin.tokens.revoke',
      method: 'POST',
      input: { id },
    });
    expect(revoked.status).toBe(200);
  }
  expect((await sent).status).toBe(200);
  const reply = messages(page).locator('.message.assistant[data-state="stored"]');
  await expect(reply).toHaveCount(1);
  await expect(messages(page).locator('.message.assistant')).toHaveCount(1);

  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  // The stream restarted while the reply was still being produced.
  const dropped = seen.indexOf('badge:Reconnecting…');
  const back = seen.indexOf('badge:Live', dropped);
  expect(dropped).toBeGreaterThan(-1);
  expect(back).toBeGreaterThan(dropped);
  expect(seen.indexOf('stored')).toBeGreaterThan(back);
  // Whatever was on screen before was the reply's beginning, never pieces with a hole.
  const final = seen.find((s) => s.startsWith('final:'))?.slice('final:'.length) ?? '';
  expect(final).toContain('word399');
  const shown = seen.filter((s) => s.startsWith('text:')).map((s) => s.slice('text:'.length));
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.filter((text) => !final.startsWith(text))).toEqual([]);
  await admin.context().close();
  await page.context().close();
});

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
  // The live stream, opened as the app opens it: the refusal arrives as the stream's error.
  const foreignStream = await alice.evaluate(
    ({ agentId, token }) =>
      new Promise<unknown>((resolve) => {
        const query = new URLSearchParams({
          input: JSON.stringify({ agentId }),
          connectionParams: JSON.stringify({ authorization: `Bearer ${token}` }),
        });
        const source = new EventSource(`/trpc/messages.events?${query}`);
        source.addEventListener('serialized-error', (event) => {
          source.close();
          resolve(JSON.parse((event as MessageEvent<string>).data));
        });
        source.addEventListener('message', () => {
          source.close();
          resolve('a message from the other agent arrived');
        });
      }),
    { agentId: bobAgent, token },
  );
  expect(foreignStream).toMatchObject({ data: { code: 'FORBIDDEN', httpStatus: 403 } });

  await alice.getByRole('button', { name: 'Log out' }).click();
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

  await alice.getByRole('button', { name: 'Log out' }).click();
  await expect(alice).toHaveURL(/\/login$/);
  // The other tab's live stream loses its (revoked) token, finds the session gone, and
  // returns to the log-in page by itself.
  await expect(aliceElsewhere).toHaveURL(/\/login$/, { timeout: 30_000 });
  await expect(aliceElsewhere.getByRole('status')).toHaveText(
    'Your session has ended. Log in again.',
  );

  // The admin page's next call is refused, and it too returns to log-in.
  await adminElsewhere.getByRole('button', { name: 'Log out' }).click();
  await expect(adminElsewhere).toHaveURL(/\/login$/);
  await admin.getByRole('button', { name: 'Refresh' }).click();
  await expect(admin).toHaveURL(/\/login$/);
  await expect(admin.getByRole('status')).toHaveText('Your session has ended. Log in again.');
  await expect(admin).toHaveTitle('Log in · scopekit chat');
  await alice.context().close();
  await admin.context().close();
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
  const logOut = alice.getByRole('button', { name: 'Log out' });
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

test('Enter while a message is still on its way sends nothing more', async ({ browser }) => {
  const page = await signedUpPage(browser, 'erin');
  await expect(connection(page)).toHaveText('Live');
  // The send is held until the second Enter has been pressed, however quick the reply.
  const held: Route[] = [];
  const isSend = (url: URL) => url.pathname === '/trpc/messages.send';
  await page.route(isSend, (route) => {
    held.push(route);
  });
  const box = page.getByRole('textbox', { name: 'Message' });
  const sendButton = page.getByRole('button', { name: 'Send' });
  await box.fill('The first message');
  await box.press('Enter');
  await expect.poll(() => held.length).toBe(1);
  await expect(sendButton).toBeDisabled();
  await box.fill('The second message');
  await box.press('Enter');
  await held[0]?.continue();
  await expect(sendButton).toBeEnabled();
  await expect(messages(page).locator('.message.assistant[data-state="stored"]')).toHaveCount(1);
  await expect(messages(page).locator('.message.user')).toHaveText([/The first message$/]);
  await expect(box).toHaveValue('The second message');
  expect(held).toHaveLength(1);
  await page.context().close();
});
