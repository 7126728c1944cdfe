import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { parseToken } from '@scopekit/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box.js';
import { type CliIo, runCli } from '../src/run-cli.js';
import { openRuntime } from '../src/runtime.js';
import { openTestDatabase, type TestDatabase, writeMigratedDataDir } from './support/database.js';
import { runScript } from './support/processes.js';

let database: TestDatabase;
let dataDir: string;
let env: NodeJS.ProcessEnv;

// The CLI runs in this process, on the file's database; one test below starts it as `pnpm cli`
// does, as a process of its own.
beforeAll(async () => {
  database = await openTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'scopekit-cli-'));
  // The development encryption key is kept under DATA_DIR, as the CLI's process would.
  env = { DATA_DIR: dataDir, SCOPEKIT_LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A stream that keeps what is written to it. */
function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  return { stream, text: () => text };
}

async function cli(...args: string[]) {
  return cliWith({}, ...args);
}

/** One command line, as `pnpm cli …` would run it; the database stays open for the next. */
async function cliWith(extraEnv: NodeJS.ProcessEnv, ...args: string[]) {
  return cliOpening(
    (config) =>
      openRuntime(config, { serve: false, database: { ...database, close: async () => {} } }),
    extraEnv,
    ...args,
  );
}

async function cliOpening(open: CliIo['open'], extraEnv: NodeJS.ProcessEnv, ...args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([]),
    env: { ...env, ...extraEnv },
    open,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('pnpm cli as a process', () => {
  it('opens the configured database, prints what it made, and exits 2 on a refusal', {
    // A process that loads tsx and opens PGlite from disk: a minute or more on a busy machine.
    timeout: 240_000,
  }, async () => {
    const processEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete processEnv.DATABASE_URL;
    if (process.env.TEST_DATABASE === 'postgres') processEnv.DATABASE_URL = database.url;
    // A command line is refused before any database is opened, so this process starts at once,
    // alongside the other: starting tsx is most of what each costs.
    const refusing = runScript('src/cli.ts', ['keys', 'rotate'], processEnv);
    // A database another process can open: PGlite on disk, or the test PostgreSQL database.
    if (process.env.TEST_DATABASE !== 'postgres') await writeMigratedDataDir(dataDir);
    const created = await runScript(
      'src/cli.ts',
      ['agents', 'create', '--name', 'Bot'],
      processEnv,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^agent-[0-9a-f-]{36}$/);

    const refused = await refusing;
    expect(refused.code).toBe(2);
    expect(refused.stderr.split('\n')[0]).toBe('Unknown command "keys rotate"');
  });
});

describe('pnpm cli', () => {
  it('creates and lists API keys, creates an agent, mints a token and revokes the key', async () => {
    const created = await cli('keys', 'create', '--org', 'acme', '--name', 'backend');
    expect(created.code).toBe(0);
    const key = created.stdout.match(/sk-let-[0-9A-Za-z]{49}/)?.[0] ?? '';
    expect(parseToken(key)).toMatchObject({ ok: true, value: { kind: 'server' } });
    const keyId = created.stdout.match(/key-[0-9a-f-]{36}/)?.[0] ?? '';

    const agent = await cli('agents', 'create', '--org', 'acme', '--name', 'Support bot');
    expect(agent.code).toBe(0);
    const agentId = agent.stdout.trim();
    expect(agentId).toMatch(/^agent-[0-9a-f-]{36}$/);

    const minted = await cli(
      'tokens',
      'mint',
      '--org',
      'acme',
      '--agent',
      agentId,
      '--hostname',
      'http://localhost:5173',
      '--access',
      'read_messages',
      '--expires-in',
      '600',
    );
    expect(minted.code).toBe(0);
    const token = JSON.parse(minted.stdout);
    expect(parseToken(token.token)).toMatchObject({ ok: true, value: { kind: 'client' } });
    // The CLI reads the clock to compute expires_at, the server again to count expiresIn.
    expect(600 - token.expiresIn).toBeOneOf([0, 1]);
    expect(token).toMatchObject({
      hostname: 'http://localhost:5173',
      policy: { version: '1', data: [{ type: 'agent', id: agentId, access: ['read_messages'] }] },
    });

    const listed = await cli('keys', 'list', '--org', 'acme');
    expect(listed.stdout).toContain(keyId);
    expect(listed.stdout).not.toContain(key);

    expect((await cli('keys', 'revoke', '--org', 'acme', '--id', keyId)).stdout).toContain(
      `Revoked API key ${keyId}`,
    );
    const again = await cli('keys', 'revoke', '--org', 'acme', '--id', keyId);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`No live API key ${keyId}`);
  });

  it('creates web users in production with web sign-up closed and no web origins set', async () => {
    const created = await cliWith(
      {
        NODE_ENV: 'production',
        SCOPEKIT_SIGNUP: 'closed',
        SCOPEKIT_WEB_ORIGINS: '',
        SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
      },
      ...['users', 'create', '--username', 'zoe', '--password', 'zoe password'],
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created user zoe \(user-[0-9a-f-]{36}\) with agent agent-/);
  });

  it('refuses bad input with a message naming it', async () => {
    const badAccess = await cli(
      'tokens',
      'mint',
      '--agent',
      'agent-x',
      '--hostname',
      'http://localhost:5173',
      '--access',
      'own_everything',
    );
    expect(badAccess.code).toBe(2);
    expect(badAccess.stderr).toContain('--access: "own_everything" is not one of');

    const unknown = await cli('keys', 'rotate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "keys rotate"');

    for (const args of [
      ['keys', 'create', '--bogus'],
      ['keys', 'list', '--org'],
    ]) {
      const refused = await cli(...args);
      expect(refused.code).toBe(2);
      expect(refused.stderr.split('\n')[0]).toMatch(/^(Unknown option '--bogus'|Option '--org)/);
      expect(refused.stderr).toContain('Usage: pnpm cli');
      expect(refused.stderr).not.toContain('ERR_PARSE_ARGS');
      expect(refused.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('checks every argument before it opens the database', async () => {
    const opened = () => {
      throw new Error('the database was opened');
    };
    for (const [args, message] of [
      [['keys', 'revoke'], '--id is required'],
      [['tokens', 'mint', '--agent', 'agent-x'], '--hostname is required'],
      [
        [
          'tokens',
          'mint',
          '--agent',
          'agent-x',
          '--hostname',
          'http://localhost:5173',
          '--expires-in',
          'soon',
        ],
        '--expires-in must be whole seconds',
      ],
    ] as const) {
      const refused = await cliOpening(opened, {}, ...args);
      expect(refused.code).toBe(2);
      expect(refused.stderr.split('\n')[0]).toBe(message);
    }
  });

  it('creates an organization only along with a key or an agent in it', async () => {
    const notFound = 'No organization "typo-org"';
    const listed = await cli('keys', 'list', '--org', 'typo-org');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain(notFound);

    const revoked = await cli('keys', 'revoke', '--org', 'typo-org', '--id', 'key-x');
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain(notFound);

    // A key whose name is refused takes its would-be organization with it.
    const badName = await cli('keys', 'create', '--org', 'typo-org', '--name', ' ');
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^name: must be 1 to 100 characters/);

    const minted = await cli(
      'tokens',
      'mint',
      '--org',
      'typo-org',
      '--agent',
      'agent-x',
      '--hostname',
      'http://localhost:5173',
    );
    expect(minted.code).toBe(1);
    expect(minted.stderr).toContain(notFound);

    const agent = await cli('agents', 'create', '--org', 'typo-org', '--name', 'Bot');
    expect(agent.code).toBe(0);
    const badHost = await cli(
      'tokens',
      'mint',
      '--org',
      'typo-org',
      '--agent',
      agent.stdout.trim(),
      '--hostname',
      'localhost:5173',
    );
    expect(badHost.code).toBe(1);
    expect(badHost.stderr).toMatch(/^hostname: /);
    // Named as the CLI's flag, not as REST's body field (`expires_at`).
    const tooLong = await cli(
      'tokens',
      'mint',
      '--org',
      'typo-org',
      '--agent',
      agent.stdout.trim(),
      '--hostname',
      'http://localhost:5173',
      '--expires-in',
      '999999999',
    );
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/^--expires-in: /);
    expect((await cli('keys', 'list', '--org', 'typo-org')).code).toBe(0);
  });
});
