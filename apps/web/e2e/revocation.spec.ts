import { expect, test } from '@playwright/test';
import {
  callFromPage,
  connection,
  loggedInPage,
  messages,
  screenshot,
  send,
  signedUpPage,
} from './support';

// Tokens revoked under a running chat (the admin page's Revoke, or every token at once in the
// middle of a reply): the chat mints a new one and carries on, missing nothing.
test.describe.configure({ mode: 'serial' });

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

  // Logged in first, so that the revocation follows the reply's first piece closely.
  const admin = await loggedInPage(browser, 'admin');
  // A long message (its echo streams for several seconds), sent by another client of the user's.
  const minted = await callFromPage(page, { path: 'session.token', method: 'POST' });
  const token = (minted.body.result as { data: { token: string } }).data.token;
  const content = Array.from({ length: 250 }, (_, i) => `word${i}`).join(' ');
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
  expect(final).toContain('word249');
  const shown = seen.filter((s) => s.startsWith('text:')).map((s) => s.slice('text:'.length));
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.filter((text) => !final.startsWith(text))).toEqual([]);
  await admin.context().close();
  await page.context().close();
});
