import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, devices } from '@playwright/test';
import { TOKEN_TTL_SECONDS } from './e2e/support';

const port = Number(process.env.SCOPEKIT_E2E_PORT ?? 4318);
const origin = `http://127.0.0.1:${port}`;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The real server (development mode, so it seeds admin/alice/bob into a fresh in-memory
 * database) serving the built web app on loopback, driven by the system's Chromium. No
 * browser is ever downloaded.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: origin,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
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
      },
    },
  ],
  webServer: {
    command: `${here('../server/node_modules/.bin/tsx')} --conditions=@scopekit/source ${here('../server/src/main.ts')}`,
    url: `${origin}/healthz`,
    reuseExistingServer: false,
    // A loaded 2-core machine took over 60 s to compile and start the server.
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5000 },
    env: {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      // A fresh database each run, whatever DATABASE_URL says: the tests expect the seeded
      // accounts with empty conversations.
      DATABASE_URL: 'memory://',
      // Only the development encryption key lands here; the database is in memory.
      DATA_DIR: join(tmpdir(), 'scopekit-e2e'),
      SCOPEKIT_WEB_ORIGINS: origin,
      SCOPEKIT_WEB_DIST: here('dist'),
      SCOPEKIT_LOG_LEVEL: 'warn',
      // The shortest lifetime allowed (refreshed every ~24 s), so the tests see refreshes.
      SCOPEKIT_WEB_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
    },
  },
});
