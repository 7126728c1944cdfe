import { expect, type Route, test } from '@playwright/test';
import {
  connection,
  DEV_PASSWORDS,
  loggedInPage,
  logIn,
  messages,
  screenshot,
  send,
  signedUpPage,
} from './support';

// The chat itself: signing up, a streamed reply, the history after a reload, live updates in a
// second tab, one send at a time. Files run in name order on one worker, so this one is the
// first to use alice's conversation, which the streamed-reply test expects empty.
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

test('the live stream carries its token in a header, never in its URL', async ({ page }) => {
  const streams: { url: string; authorization: string | undefined }[] = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/trpc/messages.events')
      streams.push({ url: request.url(), authorization: request.headers().authorization });
  });
  await logIn(page, 'bob', DEV_PASSWORDS.bob);
  await expect(connection(page)).toHaveText('Live');
  expect(streams.length).toBeGreaterThan(0);
  for (const { url, authorization } of streams) {
    expect(decodeURIComponent(url)).not.toMatch(/ck-let-|connectionParams|authorization/i);
    expect(authorization).toMatch(/^Bearer ck-let-/);
  }
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

test('a person renames their own agent from the chat page (the README example)', async ({
  browser,
}) => {
  const page = await signedUpPage(browser, 'rena');
  const name = page.getByRole('textbox', { name: 'Agent name' });
  await expect(name).toHaveValue(/^rena.*'s agent$/);
  await name.fill('  Tea expert ');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await expect(page.getByText('Your agent is now called Tea expert.')).toBeVisible();
  await expect(name).toHaveValue('Tea expert');
  await screenshot(page, 'chat-rename');

  await name.fill(' ');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('name: must not be empty');

  await page.reload();
  await expect(page.getByRole('textbox', { name: 'Agent name' })).toHaveValue('Tea expert');
  await page.context().close();
});
