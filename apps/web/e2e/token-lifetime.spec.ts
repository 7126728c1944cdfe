import { expect, test } from '@playwright/test';
import {
  connection,
  countOpenStreams,
  countTokenMints,
  loggedInPage,
  messages,
  recordConnectionStates,
  send,
} from './support';

test.describe.configure({ mode: 'serial' });

// The server under test issues 30-second tokens (playwright.config.ts), which the client
// refreshes about every 24 seconds.

test('a routine token refresh never drops the live stream', async ({ browser }) => {
  test.setTimeout(150_000);
  const alice = await loggedInPage(browser, 'alice');
  const mints = countTokenMints(alice);
  const openStreams = countOpenStreams(alice);
  await expect(connection(alice)).toHaveText('Live');
  const states = await recordConnectionStates(alice);

  // Two refreshes: the stream opened with the first token outlives both its expiries.
  await expect.poll(mints, { timeout: 90_000, intervals: [1000] }).toBeGreaterThanOrEqual(2);
  await expect.poll(openStreams, { timeout: 15_000 }).toBe(1);
  expect(await states()).toEqual(['Live']);

  const otherTab = await alice.context().newPage();
  await otherTab.goto('/');
  await send(otherTab, 'Sent after two token refreshes');
  await expect(messages(alice).locator('.message.user').last()).toHaveText(
    /Sent after two token refreshes/,
  );
  expect(await states()).toEqual(['Live']);
  await alice.context().close();
});

test('moving between pages reuses the live token instead of minting another', async ({
  browser,
}) => {
  // Logging in has just minted a token, so the next routine refresh is ~24 s away: every mint
  // counted below would come from the navigation.
  const admin = await loggedInPage(browser, 'admin');
  await expect(connection(admin)).toHaveText('Live');
  const mints = countTokenMints(admin);
  for (let round = 0; round < 2; round++) {
    await admin.getByRole('link', { name: 'Tokens' }).click();
    await expect(admin.getByRole('heading', { name: 'Live tokens' })).toBeVisible();
    await admin.getByRole('link', { name: 'Chat' }).click();
    await expect(connection(admin)).toHaveText('Live');
  }
  await send(admin, 'Still on the same token');
  await expect(messages(admin).locator('.message.user').last()).toHaveAttribute(
    'data-state',
    'stored',
  );
  expect(mints()).toBe(0);
  await admin.context().close();
});
