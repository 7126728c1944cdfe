import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { runCli } from '../src/run-cli.js';
import { openTestDatabase, type TestDatabase, writeMigratedDataDir } from './support/database.js';
import { spawnScript } from './support/processes.js';

let database: TestDatabase | undefined;
let dataDir: string;
let env: NodeJS.ProcessEnv;

// The server runs as its own process here, as `pnpm dev` and `pnpm start` do, so the database
// must be one another process can open: the test PostgreSQL database, or PGlite on disk (made
// from the run's migrated snapshot, so that no start pays for creating it).
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'scopekit-seed-'));
  env = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    SCOPEKIT_LOG_LEVEL: 'info',
    SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
    // Production refuses to start without it; here it lets the dev-password check be reached.
    SCOPEKIT_WEB_ORIGINS: 'https://chat.example.com',
  };
  delete env.DATABASE_URL;
  if (process.env.TEST_DATABASE === 'postgres') {
    database = await openTestDatabase();
    env.DATABASE_URL = database.url;
  } else await writeMigratedDataDir(dataDir);
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the server; resolves with its output once `until` appears, or once it exits. */
function startServer(nodeEnv: string, until: RegExp) {
  const child = spawnScript('src/main.ts', [], { ...env, NODE_ENV: nodeEnv });
  let output = '';
  let stderr = '';
  type Started = { output: string; stderr: string; code: number | null; child: ChildProcess };
  return new Promise<Started>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until.test(output)) resolve({ output, stderr, code: null, child });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onData(chunk);
    });
    child.on('exit', (code) => resolve({ output, stderr, code, child }));
  });
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// Four server starts, each opening PGlite from disk: slow on a busy machine.
describe('development accounts', { timeout: 180_000 }, () => {
  it('are seeded once on an empty database, block a production start, and unblock it when changed', async () => {
    const dev = await startServer('development', /log in as one of them/);
    expect(dev.output).toMatch(/admin\s+admin-dev-password\s+\(admin\)/);
    expect(dev.output).toMatch(/alice\s+alice-dev-password/);
    expect(dev.output).toMatch(/bob\s+bob-dev-password/);
    await stop(dev.child);

    // A second start finds users and seeds nothing.
    const again = await startServer('development', /database: /);
    await stop(again.child);
    expect(again.output).not.toMatch(/Seeded development accounts/);

    const refused = await startServer('production', /$^/);
    expect(refused.code).toBe(1);
    // The reason in one line, without a stack trace.
    expect(refused.stderr).toMatch(
      /^Refusing to start in production: the development password of admin, alice, bob still works\. .*\n$/,
    );

    // The CLI in this process, on the same database, between two starts of the server.
    for (const username of ['admin', 'alice', 'bob']) {
      const stdout = new PassThrough();
      const code = await runCli(
        ['users', 'password', '--username', username, '--password', `${username} new secret`],
        { stdout, stderr: process.stderr, stdin: Readable.from([]), env },
      );
      expect(code).toBe(0);
      expect(String(stdout.read())).toMatch(`Changed the password of ${username}.`);
    }
    const production = await startServer('production', /database: /);
    expect(production.code).toBeNull();
    await stop(production.child);
  }, 240_000);
});
