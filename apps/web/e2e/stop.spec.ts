import { expect, test } from '@playwright/test';
import { connection, messages, send, signedUpPage } from './support';

// Stop ends the agent's reply where it is: the server cancels the turn and stores what was
// said so far, and the page settles on it (no reply left streaming, no error, Send back).

test('Stop ends a long reply, and the reply so far stays, stored', async ({ browser }) => {
  const page = await signedUpPage(browser, 'stop');
  await expect(connection(page)).toHaveText('Live');
  // The builtin agent echoes a message word by word (SCOPEKIT_BUILTIN_DELAY_MS apart): this
  // one's echo takes several seconds.
  const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
  await send(page, long);
  const reply = messages(page).locator('.message.assistant').last();
  await expect(reply).toHaveAttribute('data-state', 'streaming');
  await expect(reply).toContainText('word3 ');
  const stop = page.getByRole('button', { name: 'Stop' });
  await stop.click();

  await expect(reply).toHaveAttribute('data-state', 'stored');
  await expect(stop).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Send' })).toBeEnabled();
  await expect(messages(page).locator('[data-state="streaming"]')).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
  const partial = (await reply.locator('p').textContent()) ?? '';
  expect(partial).toContain('word3 ');
  expect(partial).not.toContain('word299');
  expect(`You said: \u201c${long}\u201d.`.startsWith(partial)).toBe(true);
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeFocused();

  // What was said so far is what the server stored.
  await page.reload();
  await expect(messages(page).locator('.message.assistant').last()).toHaveText(`Agent:${partial}`);
  await page.context().close();
});
