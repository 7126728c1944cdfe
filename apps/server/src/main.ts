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

// Stop accepting, let in-flight requests finish, then release the database.
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await runtime.close();
    process.exit(0);
  });
}

await app.listen({ port: config.port, host: config.host });
app.log.info(`database: ${runtime.database.kind}`);
if (seeded) console.log(`\n${describeDevAccounts(config.accounts.webOrigins[0] ?? '')}\n`);
