import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, expect, type Page } from '@playwright/test';

export const DEV_PASSWORDS = {
  admin: 'admin-dev-password',
  alice: 'alice-dev-password',
  bob: 'bob-dev-password',
} as const;

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
