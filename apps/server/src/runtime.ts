import { openAgentRuntime } from './agent-runtime/open-runtime.js';
import type { Config } from './config.js';
import { loadSecretBox } from './crypto/encryption-key.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { openBus } from './events/open-bus.js';
import { RateLimiter } from './rate-limit/rate-limiter.js';
import type { ServiceDeps } from './services/deps.js';
import { TurnQueue } from './services/turn-queue.js';

/** Everything a process (server, CLI, benchmark) shares, opened from configuration. */
export interface Runtime {
  deps: ServiceDeps;
  database: DatabaseHandle;
  close(): Promise<void>;
}

export async function openRuntime(config: Config): Promise<Runtime> {
  const secrets = loadSecretBox(config);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const bus = openBus(database);
  const now = () => new Date();
  // One embedded PGlite means one instance: its counts need no sharing.
  const rateLimiter = new RateLimiter(database.kind === 'postgres' ? database.db : undefined, now);
  const deps: ServiceDeps = {
    db: database.db,
    secrets,
    bus,
    rateLimiter,
    agentRuntime: openAgentRuntime(config),
    // Embedded PGlite is one instance: the in-process queue is the whole story there.
    turns: new TurnQueue(database.kind === 'postgres' ? database.db : undefined),
    now,
    limits: {
      tokenMaxTtlMs: config.tokenMaxTtlMs,
      clientTokenPerMinute: config.clientTokenPerMinute,
      apiKeyPerMinute: config.apiKeyPerMinute,
      messageMaxBytes: config.messageMaxBytes,
      historyWindow: config.historyWindow,
    },
    accounts: config.accounts,
  };
  return {
    deps,
    database,
    close: async () => {
      await rateLimiter.close();
      await bus.close();
      await database.close();
    },
  };
}
