import { expect, type Page, test } from '@playwright/test';
import { callFromPage, messages, send, signedUpPage } from './support';

test.describe.configure({ mode: 'serial' });

/** Stores `count` user messages (and a reply per batch) through the agent's REST API. */
async function fillHistory(page: Page, count: number) {
  const minted = await callFromPage(page, { path: 'session.token', method: 'POST' });
  const { token, agentId } = (minted.body.result as { data: { token: string; agentId: string } })
    .data;
  await page.evaluate(
    async ({ token, agentId, count }) => {
      for (let sent = 0; sent < count; sent += 20) {
        const batch = Array.from({ length: Math.min(20, count - sent) }, (_, i) => ({
          role: 'user',
          content: `Old message ${sent + i + 1}`,
        }));
        const response = await fetch(`/v1/agents/${agentId}/messages`, {
          method: 'POST',
          credentials: 'omit',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messages: batch }),
        });
        if (!response.ok) throw new Error(`send failed: ${response.status}`);
      }
    },
    { token, agentId, count },
  );
}

const list = (page: Page) =>
  page.getByRole('list', { name: 'Conversation' }).evaluate((ol) => ({
    top: ol.scrollTop,
    fromBottom: ol.scrollHeight - ol.scrollTop - ol.clientHeight,
  }));

test('older history loads on request, and a reader scrolled up is not pulled down', async ({
  browser,
}) => {
  const page = await signedUpPage(browser, 'dave');
  // 120 messages of the user's and 6 replies: more than the first page of 100.
  await fillHistory(page, 120);
  await page.reload();
  const shown = messages(page).locator('.message');
  await expect(shown).toHaveCount(100);
  await expect(shown.last()).toHaveClass(/assistant/);
  await expect.poll(async () => (await list(page)).fromBottom).toBeLessThan(5);

  // Scrolled up to read: a reply streaming in from another tab leaves the view where it is.
  await messages(page).evaluate((ol) => {
    ol.scrollTop = 0;
  });
  const otherTab = await page.context().newPage();
  await otherTab.goto('/');
  await send(otherTab, 'A message while the first tab reads old ones');
  await expect(messages(page).locator('.message.assistant[data-state="stored"]')).toHaveCount(6);
  await expect(shown).toHaveCount(102);
  expect((await list(page)).top).toBe(0);

  const older = page.getByRole('button', { name: 'Load older messages' });
  await older.click();
  await expect(shown).toHaveCount(128);
  await expect(shown.first()).toHaveText(/Old message 1$/);
  await expect(older).toHaveCount(0);
  // The button had the focus; the conversation's first message, now in its place, takes it.
  await expect(shown.first()).toBeFocused();
  // What was at the top before is still in view: the older page went in above it.
  expect((await list(page)).top).toBeGreaterThan(0);

  // Back at the bottom, the view follows the conversation again.
  await messages(page).evaluate((ol) => {
    ol.scrollTop = ol.scrollHeight;
  });
  await send(otherTab, 'And one more');
  await expect(shown).toHaveCount(130);
  await expect(shown.last()).toHaveAttribute('data-state', 'stored');
  await expect.poll(async () => (await list(page)).fromBottom).toBeLessThan(5);
  await page.context().close();
});

test('with a history exactly a page long, the empty older page leaves the focus on the first message', async ({
  browser,
}) => {
  const page = await signedUpPage(browser, 'fay');
  // 95 messages of the user's and 5 replies: the first page of 100 is all there is.
  await fillHistory(page, 95);
  await page.reload();
  const shown = messages(page).locator('.message');
  await expect(shown).toHaveCount(100);
  const older = page.getByRole('button', { name: 'Load older messages' });
  await older.focus();
  await page.keyboard.press('Enter');
  await expect(older).toHaveCount(0);
  await expect(page.getByTestId('announcer')).toHaveText('No older messages.');
  await expect(shown).toHaveCount(100);
  await expect(shown.first()).toHaveText(/Old message 1$/);
  await expect(shown.first()).toBeFocused();
  await page.context().close();
});
