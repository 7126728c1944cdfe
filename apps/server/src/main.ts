import { loadConfig } from './config.js';
import { buildApp } from './http/app.js';
import { openRuntime } from './runtime.js';

const config = loadConfig();
const runtime = await openRuntime(config);
const app = await buildApp({
  deps: runtime.deps,
  logLevel: config.logLevel,
  webDist: config.webDist,
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
