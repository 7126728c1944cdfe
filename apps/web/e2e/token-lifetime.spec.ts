import { expect, test } from '@playwright/test';
import { refreshDelayMs } from '@scopekit/policy';
import {
  callFromPage,
  connection,
  countTokenMints,
  DEV_PASSWORDS,
  loggedInPage,
  logIn,
  messages,
  recordConnectionStates,
  recordMintedTokens,
  recordOpenStreams,
  send,
  TOKEN_TTL_SECONDS,
} from './support';

test.describe.configure({ mode: 'serial' });

// The server under test issues 30-second tokens (TOKEN_TTL_SECONDS), which the client
// refreshes about every 24 seconds by its own timer.

test('a routine token refresh never drops the live stream', async ({ browser }) => {
  // The browser's clock is Playwright's, so the two refreshes come when the test moves it
  // forward rather than after 48 s of waiting; it flows as usual otherwise.
  const context = await browser.newContext();
  await context.clock.install();
  const alice = await context.newPage();
  const minted = recordMintedTokens(alice);
  const streams = recordOpenStreams(alice);
  await logIn(alice, 'alice', DEV_PASSWORDS.alice);
  await expect(connection(alice)).toHaveText('Live');
  await expect.poll(() => minted().length).toBe(1);
  const states = await recordConnectionStates(alice);

  // Two refreshes: the stream opened with the first token moves to each new one. The server
  // ends a stream when its token expires, so one left on an old token would drop then.
  for (const refreshes of [2, 3]) {
    await alice.clock.fastForward(refreshDelayMs(TOKEN_TTL_SECONDS));
    await expect.poll(() => minted().length).toBe(refreshes);
    // The old stream is closed once the new one has started (and a short overlap passed).
    await expect.poll(streams).toEqual([minted().at(-1)]);
  }
  expect(await states()).toEqual(['Live']);

  const otherTab = await context.newPage();
  await otherTab.goto('/');
  await send(otherTab, 'Sent after two token refreshes');
  await expect(messages(alice).locator('.message.user').last()).toHaveText(
    /Sent after two token refreshes/,
  );
  expect(await states()).toEqual(['Live']);
  await context.close();
});

test('moving between pages reuses the live token instead of minting another', async ({
  browser,
}) => {
  // Taken before logging in, so that every routine refresh since that first mint is allowed for.
  const started = Date.now();
  const admin = await loggedInPage(browser, 'admin');
  await expect(connection(admin)).toHaveText('Live');
  const mints = countTokenMints(admin);
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
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
  // A page that minted its own token would add one per round; the only mints allowed are the
  // routine refreshes that fell within the test, however long it took.
  const routine = Math.floor((Date.now() - started) / refreshDelayMs(TOKEN_TTL_SECONDS));
  expect(mints()).toBeLessThanOrEqual(routine);
  await admin.context().close();
});

test('a call refused with 401 is made once more on a fresh token', async ({ browser }) => {
  const admin = await loggedInPage(browser, 'admin');
  await expect(connection(admin)).toHaveText('Live');
  const me = await callFromPage(admin, { path: 'session.me', method: 'GET' });
  const agentId = (me.body.result as { data: { agentId: string } }).data.agentId;
  // Mints wait until the history read has been refused, so the token the store holds is the
  // revoked one when the chat comes back (a routine refresh cannot replace it first).
  let refused!: () => void;
  const historyRefused = new Promise<void>((resolve) => {
    refused = resolve;
  });
  await admin.route(
    (url) => url.pathname === '/trpc/session.token',
    async (route) => {
      await historyRefused;
      await route.continue();
    },
  );
  const historyAnswers: number[] = [];
  admin.on('response', (response) => {
    if (new URL(response.url()).pathname !== '/trpc/messages.list') return;
    historyAnswers.push(response.status());
    if (response.status() === 401) refused();
  });

  // On the admin page no stream holds the token: revoking it goes unnoticed until the chat's
  // first calls with it are refused.
  await admin.getByRole('link', { name: 'Tokens' }).click();
  await admin.getByLabel('Agent').selectOption(agentId);
  await expect(admin.locator('table')).toHaveAttribute('aria-busy', 'false');
  const rows = admin.locator('tbody tr[data-token-id]');
  await expect(rows.first()).toBeVisible();
  for (const id of await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.tokenId))) {
    const row = admin.locator(`tbody tr[data-token-id="${id}"]`);
    await row.getByRole('button', { name: /^Revoke/ }).click();
    await expect(row).toHaveCount(0);
  }
  await admin.getByRole('link', { name: 'Chat' }).click();
  await expect(messages(admin)).toHaveAttribute('aria-busy', 'false');
  await expect(connection(admin)).toHaveText('Live');
  expect(historyAnswers).toEqual([401, 200]);
  await expect(admin.getByRole('alert')).toHaveCount(0);
  await admin.context().close();
});
