import { loadConfig, missingProductionSettings } from './config.js';
import { accountsWithDevPasswords, describeDevAccounts, seedDevAccounts } from './dev-seed.js';
import { buildApp } from './http/app.js';
import { openRuntime } from './runtime.js';

const config = loadConfig();
const missing = missingProductionSettings(config);
if (missing.length > 0) {
  console.error(`Refusing to start in production:\n${missing.map((m) => `  ${m}`).join('\n')}`);
  process.exit(1);
}
const runtime = await openRuntime(config);

if (config.env === 'production') {
  const unsafe = await accountsWithDevPasswords(runtime.deps);
  if (unsafe.length > 0) {
    console.error(
      `Refusing to start in production: the development password of ${unsafe.join(', ')} still works.\n` +
        'Change it (pnpm cli users password --username NAME) or start with an empty database.',
    );
    await runtime.close();
    process.exit(1);
  }
}
const seeded = config.env === 'development' && (await seedDevAccounts(runtime.deps));
const app = await buildApp({
  deps: runtime.deps,
  logLevel: config.logLevel,
  webDist: config.webDist,
  trustProxy: config.trustProxy,
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

async function shutDown(signal: NodeJS.Signals) {
  const timeoutSeconds = config.shutdownTimeoutMs / 1000;
  app.log.info({ signal, timeoutSeconds }, 'shutting down');
  setTimeout(() => {
    app.log.error(
      { timeoutSeconds },
      'shutdown deadline passed with requests still in flight; exiting without them',
    );
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

await app.listen({ port: config.port, host: config.host });
app.log.info(`database: ${runtime.database.kind}`);
if (seeded) console.log(`\n${describeDevAccounts(config.accounts.webOrigins[0] ?? '')}\n`);
