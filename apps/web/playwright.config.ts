import { defineConfig, devices } from '@playwright/test';
import { e2eOrigin } from './e2e/main-server';

const browser = {
  ...devices['Desktop Chrome'],
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
};

/**
 * The real server (e2e/global-setup.ts starts it, with a fresh database each run) serving
 * the built web app on loopback, driven by the system's Chromium. No browser is ever
 * downloaded.
 */
export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 2,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: e2eOrigin,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    // The specs on the shared server use its seeded accounts (one revokes all of alice's
    // tokens, another watches her stream), so they run one at a time; the cross-origin spec
    // starts servers of its own and runs beside them, on the second worker.
    { name: 'shared server', testIgnore: 'cross-origin.spec.ts', workers: 1, use: browser },
    { name: 'own servers', testMatch: 'cross-origin.spec.ts', workers: 1, use: browser },
  ],
});
