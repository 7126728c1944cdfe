import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServer } from '../scripts/build.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { openTestDatabase, type TestDatabase, writeMigratedDataDir } from './support/database.js';
import { signUpForToken, watchServer } from './support/processes.js';

const ORIGIN = 'https://chat.example.com';
const serverDir = new URL('..', import.meta.url).pathname;

// `pnpm start` runs what `pnpm build` wrote with Node alone: no tsx, no TypeScript, the
// policy package from its published `dist`. Everything else in the suite runs the source,
// so this is the one test of what production runs: that the build is complete (every file,
// the migrations found from `dist/src/`) and serves a sign-up and a scoped token.
let database: TestDatabase | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'scopekit-production-'));
beforeAll(async () => {
  await buildServer();
  if (process.env.TEST_DATABASE === 'postgres') database = await openTestDatabase();
  else await writeMigratedDataDir(dataDir);
}, 120_000);
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('the built server starts with plain Node and mints a token for a new user', {
  timeout: 120_000,
}, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: serverDir,
    env: {
      ...env,
      ...(database ? { DATABASE_URL: database.url } : {}),
      DATA_DIR: dataDir,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      SCOPEKIT_LOG_LEVEL: 'info',
      SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
      SCOPEKIT_WEB_ORIGINS: ORIGIN,
    },
  });
  const server = watchServer(child);
  try {
    const base = await server.listening();
    expect(base, server.output()).toBeDefined();
    const signedUp = await signUpForToken(base ?? '', ORIGIN, 'built');
    expect(signedUp.status, server.output()).toBe(200);
    // Production's cookie: Secure, with the `__Host-` prefix.
    expect(signedUp.cookie).toMatch(/^__Host-scopekit_session=/);
    expect(signedUp.token).toMatch(/^ck-let-/);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await server.exited, server.output()).toBe(0);
  // JSON logs in production, never the development pretty-printer.
  expect(server.output()).toMatch(/^\{"level":\d+/m);
});
