import { expect, type Page, test } from '@playwright/test';
import { connection, messages, send, signedUpPage } from './support';

// What the agent remembers, shown beside the conversation: the memory panel follows the
// agent's own memory edits (the builtin agent's "remember that …" is a memory_insert call),
// in the tab that asked and in another, and the edit shows as one line, not as tool JSON.

const memoryPanel = async (page: Page) => {
  await page.getByText('What your agent remembers').click();
  return page.locator('.memory [data-label="human"] dd');
};

test('the memory panel changes when the agent edits its memory, in every tab', async ({
  browser,
}) => {
  const page = await signedUpPage(browser, 'memory');
  const other = await page.context().newPage();
  await other.goto('/');
  await expect(connection(other)).toHaveText('Live');
  const human = await memoryPanel(page);
  const otherHuman = await memoryPanel(other);
  await expect(human).toBeVisible();
  await expect(human).not.toContainText('Ada');

  await send(page, 'remember that my name is Ada');
  await expect(messages(page).locator('.message.assistant p').last()).toHaveText(
    "Got it. I'll remember that your name is Ada.",
  );
  await expect(human).toContainText('my name is Ada');
  // The other tab heard the edit on its live stream and read the memory again.
  await expect(otherHuman).toContainText('my name is Ada');
  for (const tab of [page, other]) {
    const activity = messages(tab).locator('.message.tool p');
    await expect(activity).toHaveText(['Updated its memory of you']);
    await expect(messages(tab)).not.toContainText('memory_insert');
    await expect(messages(tab)).not.toContainText('now reads');
  }
  await page.context().close();
});
