// The admin screenshot (docs/architecture.md) lists tokens, each with the web origin it is
// bound to. Taken by the browser tests it would show their port; this takes it from
// `pnpm dev` instead, so it shows the origin a developer sees (http://localhost:5173). Start
// `pnpm dev` on a fresh database (it seeds admin and alice), then
// `pnpm --filter @scopekit/web screenshots:admin`, and commit the image.
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

const app = process.argv[2] ?? 'http://localhost:5173';
const out = fileURLToPath(new URL('../../../docs/screenshots/admin.png', import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const viewport = { width: 1280, height: 720 };

async function logIn(username) {
  const page = await (await browser.newContext({ viewport })).newPage();
  await page.goto(`${app}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-dev-password`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: 60_000 });
  return page;
}

try {
  // Two open chats of alice: each tab holds a token of its own.
  for (let tab = 0; tab < 2; tab += 1) {
    const alice = await logIn('alice');
    await alice.getByTestId('connection').getByText('Live').waitFor({ timeout: 60_000 });
  }
  const admin = await logIn('admin');
  await admin.getByRole('link', { name: 'Tokens' }).click();
  await admin.getByRole('heading', { name: 'Live tokens' }).waitFor();
  await admin.getByLabel('Agent').selectOption({ label: "alice's agent" });
  await admin.locator('table[aria-busy="false"] tbody tr[data-token-id]').first().waitFor();
  await admin.screenshot({ path: out, fullPage: true });
  console.log(`docs/screenshots/admin.png, from ${app}`);
} finally {
  await browser.close();
}
