import { openAgentRuntime } from './agent-runtime/open-runtime.js';
import { LiveStreamCaps } from './auth/stream-caps.js';
import { TokenCache } from './auth/token-cache.js';
import type { Config } from './config/config-types.js';
import { AbandonedTurnReaper, endRunsOfPreviousProcess } from './conversation/abandoned-turns.js';
import { TurnQueue } from './conversation/turn-queue.js';
import { loadSecretBox } from './crypto/encryption-key.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { errorCode } from './db/error-code.js';
import type { ServiceDeps } from './deps.js';
import { openBus } from './events/open-bus.js';
import { LastUsedRecorder } from './infra/last-used.js';
import { RateLimiter } from './infra/rate-limiter.js';
import { Sweeper } from './infra/sweeper.js';
import { LettaHost } from './letta-host/letta-host.js';

/** Everything a process (server, CLI, benchmark) shares, opened from configuration. */
export interface Runtime {
  deps: ServiceDeps;
  database: DatabaseHandle;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * A server hears other instances' revocations and sweeps expired tokens and sessions; a short-lived
   * tool (the CLI) needs neither and opens no listening connection.
   */
  serve?: boolean;
  /** A database already open (tests share theirs); closed with the runtime, as an opened one is. */
  database?: DatabaseHandle;
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const serve = options.serve ?? true;
  const secrets = loadSecretBox(config);
  const database =
    options.database ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }));
  if (serve && database.kind === 'pglite-disk') {
    await endRunsOfPreviousProcess(database.db).catch(async (error: unknown) => {
      await database.close();
      throw error;
    });
  }
  const bus = openBus(database);
  const now = () => new Date();
  // One embedded PGlite means one instance: its counts need no sharing.
  const rateLimiter = new RateLimiter(database.kind === 'postgres' ? database.db : undefined, now);
  const tokenCache = new TokenCache({ now });
  const lastUsed = new LastUsedRecorder(database.db);
  const deps: ServiceDeps = {
    db: database.db,
    secrets,
    bus,
    rateLimiter,
    agentRuntime: openAgentRuntime(config),
    // Embedded PGlite is one instance: the in-process queue is the whole story there.
    turns: new TurnQueue(database.kind === 'postgres' ? database.db : undefined),
    now,
    tokenCache,
    lastUsed,
    limits: {
      tokenMaxTtlMs: config.tokenMaxTtlMs,
      clientTokenPerMinute: config.clientTokenPerMinute,
      apiKeyPerMinute: config.apiKeyPerMinute,
      bearerFailuresPerMinute: config.bearerFailuresPerMinute,
      messageMaxBytes: config.messageMaxBytes,
      historyWindow: config.historyWindow,
      turnIdleTimeoutMs: config.turnIdleTimeoutMs,
      turnTimeoutMs: config.turnTimeoutMs,
      turnMaxSteps: config.turnMaxSteps,
      ...config.streamCaps,
    },
    clientTokenOrigin: config.clientTokenOrigin,
    liveStreams: new LiveStreamCaps(config.streamCaps),
    accounts: config.accounts,
    lettaHost: config.lettaHost ? new LettaHost(config.lettaHost) : undefined,
  };
  const stopListening = serve ? await tokenCache.listen(bus) : async () => {};
  // A cancel sent to another instance reaches the turn running here.
  const stopCancels = serve ? await deps.turns.listen(bus) : async () => {};
  // Ends turns whose instance died mid-turn; with one embedded instance, no other can die.
  const reaper =
    serve && database.kind === 'postgres'
      ? new AbandonedTurnReaper(deps, {
          onError: (error) =>
            process.emitWarning(
              `Ending abandoned turns failed (${errorCode(error)}); tried again every 5 s`,
            ),
        })
      : undefined;
  const sweeper = serve
    ? new Sweeper(deps, {
        intervalMs: config.sweepIntervalMs,
        retainMs: config.tokenRetainMs,
        onError: (error) => process.emitWarning(`Sweep failed: ${String(error)}`),
      })
    : undefined;
  return {
    deps,
    database,
    close: async () => {
      await sweeper?.stop();
      await reaper?.stop();
      // The last write of credentials' last use; the database is closed whether it worked.
      await lastUsed
        .close()
        .catch((error: unknown) =>
          process.emitWarning(
            `Last-used times not written at close (${errorCode(error)}): ${lastUsed.pending} credentials' latest uses are lost`,
          ),
        );
      await rateLimiter.close();
      await stopListening();
      await stopCancels();
      await bus.close();
      await database.close();
    },
  };
}
