/**
 * A bounded soak: one server process on a throwaway PostgreSQL database, driven over
 * loopback for SOAK_SECONDS (default 60) by concurrent chats, token mints and revocations.
 * It reports requests served, 5xx responses (target 0), any other status a request should
 * not get (target 0), requests accepted with a token after its revocation was acknowledged
 * and revoked tokens answered otherwise than 401 (target 0 each), requests unanswered within
 * REQUEST_TIMEOUT_MS (target 0), sends and revocations (target: at least one each, or the
 * run proved nothing), and the server's memory over the run (target: flat, see
 * MEMORY_TOLERANCE). Exits non-zero when a target is missed, and stops by itself even if the
 * server wedges: a watchdog kills it and exits 2 at SOAK_SECONDS + 30 s of load. The
 * clients are in soak/workers.ts, the counting in soak/stats.ts, the table in soak/report.ts.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm soak
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { createAgent } from '../src/agents/agent-write.js';
import { openDatabase } from '../src/db/client.js';
import { createApiKey } from '../src/tokens/api-keys.js';
import { report } from './soak/report.js';
import { workers } from './soak/workers.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CHATS = 8;
const MINTERS = 2;
/** Load plus this, and the watchdog ends the soak whatever the server is doing. */
const WATCHDOG_GRACE_MS = 30_000;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function main() {
  const name = `scopekit_soak_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let server: ChildProcess | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    // Seed with the services, then hand the database to the server process.
    const database = await openDatabase({ url: url.toString(), dataDir: '' });
    const org = await ensureOrganization(database, 'soak');
    const { key } = await createApiKey(database, { organizationId: org.id, name: 'soak' });
    const agentIds: string[] = [];
    for (let i = 0; i < CHATS; i++)
      agentIds.push(
        (await createAgent(database, { organizationId: org.id, name: `soak ${i}` })).id,
      );
    await database.close();

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = spawn(
      process.execPath,
      ['--conditions=@scopekit/source', '--import', 'tsx', 'src/main.ts'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          ...process.env,
          NODE_ENV: 'test',
          DATABASE_URL: url.toString(),
          PORT: String(port),
          SCOPEKIT_LOG_LEVEL: 'warn',
          SCOPEKIT_BUILTIN_DELAY_MS: '0',
          SCOPEKIT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          // The soak measures the server, not the limiter.
          SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: '1000000',
          SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: '1000000',
          SCOPEKIT_BEARER_FAILURES_PER_MINUTE: '1000000',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    for (let i = 0; ; i++) {
      const up = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 300) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = server.pid ?? 0;
    const memory: { atMs: number; mb: number }[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const child = server;
    // Armed until the database is dropped, so a server wedged in shutdown is covered too.
    watchdog = setTimeout(
      () => {
        console.error(
          `soak: still running ${WATCHDOG_GRACE_MS / 1000} s past its ${SECONDS} s; killing the server`,
        );
        child.kill('SIGKILL');
        // Best effort: the database is a throwaway one either way.
        const dropped = admin.unsafe(`drop database if exists "${name}" with (force)`);
        const bounded = new Promise((r) => setTimeout(r, 5_000).unref());
        void Promise.race([dropped, bounded]).finally(() => process.exit(2));
      },
      SECONDS * 1000 + WATCHDOG_GRACE_MS,
    );
    watchdog.unref();
    const running = () => Date.now() < deadline;
    const { chat, minter, revoker, sampler } = workers({
      base,
      key,
      agentIds,
      pid,
      running,
      memory,
    });

    const started = Date.now();
    await Promise.all([
      ...Array.from({ length: CHATS }, (_, i) => chat(i)),
      ...Array.from({ length: MINTERS }, () => minter()),
      revoker(),
      sampler(),
    ]);
    const elapsed = (Date.now() - started) / 1000;

    process.exitCode = report(elapsed, memory) ? 0 : 1;
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    clearTimeout(watchdog);
  }
}

await main();
