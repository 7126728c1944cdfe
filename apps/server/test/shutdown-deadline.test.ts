import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { clientTokens } from '../src/db/schema.js';
import { openTestDatabase, type TestDatabase, writeMigratedDataDir } from './support/database.js';
import { signUpForToken, spawnScript, watchServer } from './support/processes.js';

const ORIGIN = 'http://127.0.0.1:5173';

// The deadline lives in main.ts's signal handler, so the server runs as its own process, on
// the test PostgreSQL database or on PGlite on disk, made from the run's migrated snapshot
// (creating a database in the process took 20 s on a busy machine, loading it 2 s).
let database: TestDatabase | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'scopekit-deadline-'));
beforeAll(async () => {
  if (process.env.TEST_DATABASE === 'postgres') database = await openTestDatabase();
  else await writeMigratedDataDir(dataDir);
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// A process that loads tsx and opens PGlite: a minute or more on a busy machine.
it('exits non-zero with a log line when a turn outlasts the shutdown deadline', {
  timeout: 180_000,
}, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawnScript('src/main.ts', [], {
    ...env,
    ...(database ? { DATABASE_URL: database.url } : {}),
    DATA_DIR: dataDir,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    SCOPEKIT_LOG_LEVEL: 'info',
    SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
    SCOPEKIT_WEB_ORIGINS: ORIGIN,
    // Five seconds a word: the reply's turn is still running when the signal comes.
    SCOPEKIT_BUILTIN_DELAY_MS: '5000',
    SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS: '1',
  });
  const server = watchServer(child);
  try {
    const base = await server.listening();
    expect(base, server.output()).toBeDefined();

    // A user of the web app, its token, and a message whose reply takes many seconds.
    const { token, agentId } = await signUpForToken(base ?? '', ORIGIN, 'patient');
    const auth = {
      'content-type': 'application/json',
      origin: ORIGIN,
      authorization: `Bearer ${token}`,
    };
    const send = fetch(`${base}/v1/agents/${agentId}/messages`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ messages: [{ role: 'user', content: 'take your time' }] }),
    }).catch((error: unknown) => error);
    // The turn has started once the user's message is stored.
    for (let i = 0; i < 100; i++) {
      const listed = await fetch(`${base}/v1/agents/${agentId}/messages`, { headers: auth });
      if (((await listed.json()) as unknown[]).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    child.kill('SIGTERM');
    const code = await server.exited;
    expect(code, server.output()).toBe(1);
    expect(server.output()).toContain('shutdown deadline passed');
    // What the minute's write-behind held was written before the exit, not lost with it.
    expect(server.output()).toMatch(/"written":[1-9]\d*,"msg":"last-used times written"/);
    if (database) {
      const used = await database.db
        .select({ id: clientTokens.id })
        .from(clientTokens)
        .where(isNotNull(clientTokens.lastUsedAt));
      expect(used).toHaveLength(1);
    }
    // The turn was cut, not finished: its request never got an answer.
    expect(await send).toBeInstanceOf(Error);
  } finally {
    // SIGTERM: the server's 1 s deadline ends it, as it would in production.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await server.exited;
  }
});
