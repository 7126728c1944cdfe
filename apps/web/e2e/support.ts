import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, expect, type Page, type Request } from '@playwright/test';

export const DEV_PASSWORDS = {
  admin: 'admin-dev-password',
  alice: 'alice-dev-password',
  bob: 'bob-dev-password',
} as const;

/** The agent tokens' lifetime on the shared server under test (main-server.ts). */
export const TOKEN_TTL_SECONDS = 30;

const screenshotDir = fileURLToPath(new URL('../screenshots/', import.meta.url));
mkdirSync(screenshotDir, { recursive: true });

/** Page screenshots are kept as artifacts (apps/web/screenshots/), a few reused by the README. */
export const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });

export async function logIn(page: Page, username: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeVisible();
}

/** A fresh browser (its own cookies) logged in as `username`. */
export async function loggedInPage(browser: Browser, username: keyof typeof DEV_PASSWORDS) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await logIn(page, username, DEV_PASSWORDS[username]);
  return page;
}

export async function send(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

export const messages = (page: Page) => page.getByRole('list', { name: 'Conversation' });

export const connection = (page: Page) => page.getByTestId('connection');

/** Calls a tRPC procedure from inside the page, as the app's own code would. */
export function callFromPage(
  page: Page,
  args: {
    path: string;
    method: 'GET' | 'POST';
    input?: unknown;
    bearer?: string;
  },
) {
  return page.evaluate(async ({ path, method, input, bearer }) => {
    const query =
      method === 'GET' && input !== undefined
        ? `?input=${encodeURIComponent(JSON.stringify(input))}`
        : '';
    const response = await fetch(`/trpc/${path}${query}`, {
      method,
      credentials: bearer ? 'omit' : 'include',
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      body: method === 'POST' ? JSON.stringify(input ?? {}) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }, args);
}

/**
 * Records every label the connection badge shows from now on, so a test can tell whether the
 * stream ever dropped (the badge may flip and flip back between two looks at it).
 */
export async function recordConnectionStates(page: Page) {
  await page.evaluate(() => {
    const badge = document.querySelector('[data-testid="connection"]');
    if (!badge) throw new Error('no connection badge');
    const seen = new Set([badge.textContent ?? '']);
    (window as unknown as { connectionStates: Set<string> }).connectionStates = seen;
    new MutationObserver(() => seen.add(badge.textContent ?? '')).observe(badge, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  return () =>
    page.evaluate(() => [
      ...(window as unknown as { connectionStates: Set<string> }).connectionStates,
    ]);
}

/** How many agent tokens `page` mints from now on. */
export function countTokenMints(page: Page) {
  let mints = 0;
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/trpc/session.token') mints++;
  });
  return () => mints;
}

/** Every agent token `page` is handed from now on, in order. */
export function recordMintedTokens(page: Page) {
  const minted: string[] = [];
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname !== '/trpc/session.token') return;
    // Batched by the app's tRPC client: an array of answers.
    const body = (await response.json()) as
      | { result?: { data: { token: string } } }
      | { result?: { data: { token: string } } }[];
    for (const answer of [body].flat()) if (answer.result) minted.push(answer.result.data.token);
  });
  return () => minted;
}

/** The tokens of the live message streams `page` holds open right now, one per stream. */
export function recordOpenStreams(page: Page) {
  const open = new Map<Request, string>();
  page.on('request', (request) => {
    if (new URL(request.url()).pathname !== '/trpc/messages.events') return;
    open.set(request, request.headers().authorization?.replace(/^Bearer /, '') ?? '');
  });
  page.on('requestfinished', (request) => open.delete(request));
  page.on('requestfailed', (request) => open.delete(request));
  return () => [...open.values()];
}

/** A fresh browser signed up as a new user with an empty conversation. */
export async function signedUpPage(browser: Browser, prefix: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  const username = `${prefix}${Date.now().toString(36)}`;
  const signedUp = await callFromPage(page, {
    path: 'session.signUp',
    method: 'POST',
    input: { username, password: `${username} password` },
  });
  expect(signedUp.status).toBe(200);
  await page.goto('/');
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeVisible();
  return page;
}
