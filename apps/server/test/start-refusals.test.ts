import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { lockDataDir } from '../src/db/pglite-lock.js';
import { writeMigratedDataDir } from './support/database.js';
import { runScript } from './support/processes.js';

let dataDir: string;
/** A second data folder, free, for the server that finds its port taken. */
let freeDataDir: string;
let release: () => void;
let env: NodeJS.ProcessEnv;

// This test process holds the embedded database's lock, as a running server would: the
// processes started below find the data folder in use.
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'scopekit-refusals-'));
  mkdirSync(join(dataDir, 'pglite'));
  release = lockDataDir(join(dataDir, 'pglite'));
  env = { ...process.env, DATA_DIR: dataDir, PORT: '0', SCOPEKIT_LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  delete env.NODE_ENV;
  // The run's migrated snapshot, so the server that finds its port taken gets there without
  // creating a database (20 s on a loaded machine). The PostgreSQL project has no snapshot:
  // there that server creates one in memory.
  freeDataDir = mkdtempSync(join(tmpdir(), 'scopekit-refusals-free-'));
  if (process.env.TEST_DATABASE !== 'postgres') await writeMigratedDataDir(freeDataDir);
});
afterAll(() => {
  release?.();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(freeDataDir, { recursive: true, force: true });
});

/** Exit code 1 and the reason as the one line on stderr: no stack trace. */
function expectRefusal(run: { code: number | null; stderr: string }, reason: RegExp) {
  expect(run.stderr).not.toContain('    at ');
  expect(run.stderr.split('\n')).toEqual([expect.stringMatching(reason), '']);
  expect(run.code).toBe(1);
}

// Processes that load tsx: seconds each on a busy machine.
describe('a refusal to start', { timeout: 180_000 }, () => {
  it('is one line and exit code 1, for the server and the CLI alike', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const takenPort = (blocker.address() as { port: number }).port;
    const inUse = new RegExp(`^The embedded database in .* is in use by process ${process.pid} `);
    try {
      const [server, cli, badSetting, noKey, portTaken] = await Promise.all([
        runScript('src/main.ts', [], env),
        runScript('src/cli.ts', ['agents', 'create', '--name', 'Bot'], env),
        runScript('src/main.ts', [], { ...env, PORT: 'not-a-port' }),
        runScript('src/main.ts', [], {
          ...env,
          NODE_ENV: 'production',
          SCOPEKIT_WEB_ORIGINS: 'https://chat.example.com',
        }),
        runScript('src/main.ts', [], {
          ...env,
          ...(process.env.TEST_DATABASE === 'postgres'
            ? { DATABASE_URL: 'memory://' }
            : { DATA_DIR: freeDataDir }),
          HOST: '127.0.0.1',
          PORT: String(takenPort),
          SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
          NODE_ENV: 'test',
        }),
      ]);
      expectRefusal(server, inUse);
      expectRefusal(cli, inUse);
      expectRefusal(badSetting, /^Invalid configuration: PORT: /);
      expectRefusal(noKey, /^SCOPEKIT_ENCRYPTION_KEY is required in production/);
      expectRefusal(portTaken, new RegExp(`^Port ${takenPort} on 127.0.0.1 is in use`));
    } finally {
      blocker.close();
    }
  });
});
