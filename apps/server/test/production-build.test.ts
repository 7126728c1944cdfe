import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServer } from '../scripts/build.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { openTestDatabase, type TestDatabase, writeMigratedDataDir } from './support/database.js';

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
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    let base: string | undefined;
    // Until it listens or exits: the test's timeout bounds the wait.
    while (!base && child.exitCode === null) {
      base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (!base) await new Promise((r) => setTimeout(r, 100));
    }
    expect(base, output).toBeDefined();

    const web = { 'content-type': 'application/json', origin: ORIGIN };
    const signedUp = await fetch(`${base}/trpc/session.signUp`, {
      method: 'POST',
      headers: web,
      body: JSON.stringify({ username: 'built', password: 'a long password' }),
    });
    expect(signedUp.status, output).toBe(200);
    // Production's cookie: Secure, with the `__Host-` prefix.
    const cookie = /__Host-scopekit_session=[^;]+/.exec(
      signedUp.headers.get('set-cookie') ?? '',
    )?.[0];
    expect(cookie).toBeDefined();
    const minted = await fetch(`${base}/trpc/session.token`, {
      method: 'POST',
      headers: { ...web, cookie: cookie ?? '' },
    });
    const { token } = ((await minted.json()) as { result: { data: { token: string } } }).result
      .data;
    expect(token).toMatch(/^ck-let-/);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited, output).toBe(0);
  // JSON logs in production, never the development pretty-printer.
  expect(output).toMatch(/^\{"level":\d+/m);
});
