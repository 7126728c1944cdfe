import {
  accountsWithDevPasswords,
  describeDevAccounts,
  seedDevAccounts,
} from './accounts/dev-seed.js';
import { loadConfig, missingProductionSettings } from './config.js';
import { migrationsFolder } from './db/client.js';
import { errorCode } from './db/error-code.js';
import * as schema from './db/schema.js';
import { unmigratedSchemaProblem } from './db/schema-check.js';
import { buildApp } from './http/app.js';
import { openRuntime } from './runtime.js';
import { StartRefusal } from './start-refusal.js';

/**
 * A refusal to start is the operator's to fix and its message says how: one line on stderr
 * and exit code 1, not a stack trace to dig it out of. Anything else is a bug, and throws.
 */
function exitOnRefusal(error: unknown): never {
  if (!(error instanceof StartRefusal)) throw error;
  console.error(error.message);
  process.exit(1);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    exitOnRefusal(error);
  }
})();
const missing = missingProductionSettings(config);
if (missing.length > 0) {
  exitOnRefusal(new StartRefusal(`Refusing to start in production: ${missing.join('; ')}`));
}
// In development, a schema saved before its migration was generated: said here and to every
// request, until `pnpm db:generate` writes the migration and the dev server restarts on it.
const schemaProblem =
  config.env === 'development'
    ? await unmigratedSchemaProblem(schema, migrationsFolder)
    : undefined;
if (schemaProblem) console.error(`\n${schemaProblem}\n`);
const runtime = await openRuntime(config).catch(exitOnRefusal);

if (config.env === 'production') {
  const unsafe = await accountsWithDevPasswords(runtime.deps);
  if (unsafe.length > 0) {
    await runtime.close();
    exitOnRefusal(
      new StartRefusal(
        `Refusing to start in production: the development password of ${unsafe.join(', ')} still works. ` +
          'Change it (pnpm cli users password --username NAME) or start with an empty database.',
      ),
    );
  }
}
const seeded =
  config.env === 'development' && !schemaProblem && (await seedDevAccounts(runtime.deps));
const app = await buildApp({
  deps: runtime.deps,
  logLevel: config.logLevel,
  // Development prints log lines for a person to read; production and tests keep pino's JSON.
  logStream:
    config.env === 'development'
      ? (await import('pino-pretty')).default({
          translateTime: 'HH:MM:ss',
          ignore: 'pid,hostname',
          singleLine: true,
        })
      : undefined,
  webDist: config.webDist,
  trustProxy: config.trustProxy,
  unavailable: schemaProblem,
  databaseWatch: runtime.database.watch,
  requestTimeouts: config.requestTimeouts,
});

// Stop accepting, let in-flight requests finish, then release the database; within a deadline,
// so a turn waiting on a slow model cannot hold the process until the orchestrator's SIGKILL.
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    void shutDown(signal);
  });
}

/** How long the deadline path waits for the last write of credentials' last use. */
const FINAL_FLUSH_MS = 3_000;

/**
 * Writes the uses recorded since the last flush (up to a minute of them) when the deadline
 * leaves no time for the runtime's orderly close; bounded, as the database may be the
 * reason requests are stuck.
 */
async function flushLastUsed() {
  const bound = new Promise<'late'>((resolve) => setTimeout(resolve, FINAL_FLUSH_MS, 'late'));
  try {
    const written = await Promise.race([runtime.deps.lastUsed.flush(), bound]);
    if (written === 'late') {
      app.log.error(
        { pending: runtime.deps.lastUsed.pending, waitedMs: FINAL_FLUSH_MS },
        'last-used times not written in time; exiting without them',
      );
    } else app.log.info({ written }, 'last-used times written');
  } catch (error) {
    app.log.error(
      { code: errorCode(error), pending: runtime.deps.lastUsed.pending },
      'last-used times not written',
    );
  }
}

async function shutDown(signal: NodeJS.Signals) {
  const timeoutSeconds = config.shutdownTimeoutMs / 1000;
  app.log.info({ signal, timeoutSeconds }, 'shutting down');
  setTimeout(async () => {
    app.log.error(
      { timeoutSeconds },
      'shutdown deadline passed with requests still in flight; exiting without them',
    );
    await flushLastUsed();
    process.exit(1);
  }, config.shutdownTimeoutMs);
  let failed = false;
  // Each step is tried even if the one before failed: the database is released either way.
  for (const [step, close] of [
    ['HTTP server', () => app.close()],
    ['runtime', () => runtime.close()],
  ] as const) {
    try {
      await close();
    } catch (error) {
      failed = true;
      app.log.error({ err: error, step }, 'shutdown step failed');
    }
  }
  process.exit(failed ? 1 : 0);
}

try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  await runtime.close();
  exitOnRefusal(
    new StartRefusal(
      `Port ${config.port} on ${config.host} is in use (another server?): stop it, or set PORT`,
    ),
  );
}
app.log.info(`database: ${runtime.database.kind}`);
if (seeded) console.log(`\n${describeDevAccounts(config.accounts.webOrigins[0] ?? '')}\n`);
