import { ensureOrganization } from '../../src/accounts/organizations.js';
import { BuiltinRuntime } from '../../src/agent-runtime/builtin.js';
import type { AgentRuntime } from '../../src/agent-runtime/runtime.js';
import { createAgent } from '../../src/agents/agent-write.js';
import { LiveStreamCaps } from '../../src/auth/stream-caps.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { TurnQueue } from '../../src/conversation/turn-queue.js';
import type { PasswordCost } from '../../src/crypto/password.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import type { ServiceDeps } from '../../src/deps.js';
import { openBus } from '../../src/events/open-bus.js';
import { LastUsedRecorder } from '../../src/infra/last-used.js';
import { RateLimiter } from '../../src/infra/rate-limiter.js';
import { createApiKey } from '../../src/tokens/api-keys.js';
import type { TestDatabase } from './database.js';

/** A clock tests can move, so expiry is tested without waiting. */
export class TestClock {
  #offsetMs = 0;
  #frozenAt: number | undefined;
  now = () => new Date(this.#frozenAt ?? Date.now() + this.#offsetMs);
  /** Stops time where it is until `reset`, so writing "now" twice writes the same instant. */
  freeze() {
    this.#frozenAt = this.now().getTime();
  }
  advance(ms: number) {
    this.#offsetMs += ms;
  }
  /**
   * Moves to just after the start of the next fixed window (rate limits count per aligned
   * minute), so a test's requests cannot straddle a boundary and split their count.
   */
  startOfWindow(windowMs = 60_000, intoMs = 1_000) {
    const now = this.now().getTime();
    this.advance(windowMs - (now % windowMs) + intoMs);
  }
  reset() {
    this.#offsetMs = 0;
    this.#frozenAt = undefined;
  }
}

export function makeDeps(
  database: TestDatabase,
  clock = new TestClock(),
  limits: Partial<ServiceDeps['limits']> = {},
  agentRuntime: AgentRuntime = new BuiltinRuntime(0),
  accounts: Partial<ServiceDeps['accounts']> = {},
  clientTokenOrigin: ServiceDeps['clientTokenOrigin'] = 'required',
): ServiceDeps {
  const allLimits: ServiceDeps['limits'] = {
    tokenMaxTtlMs: 24 * 60 * 60 * 1000,
    clientTokenPerMinute: 10_000,
    apiKeyPerMinute: 10_000,
    bearerFailuresPerMinute: 10_000,
    messageMaxBytes: 32 * 1024,
    historyWindow: 20,
    turnIdleTimeoutMs: 60_000,
    turnTimeoutMs: 300_000,
    turnMaxSteps: 10,
    streamsPerToken: 1_000,
    streamsPerUser: 1_000,
    streamsPerAddress: 1_000,
    streamsPerInstance: 10_000,
    ...limits,
  };
  // Test files run one after another in a worker (isolate: false), so the recorder's timer
  // must not outlive the database it writes to: closing the database stops it first.
  const lastUsed = new LastUsedRecorder(database.db);
  const closeDatabase = database.close;
  database.close = async () => {
    await lastUsed.close().catch(() => {});
    await closeDatabase();
  };
  return {
    db: database.db,
    secrets: SecretBox.fromString(SecretBox.generateKey()),
    bus: openBus(database),
    rateLimiter: new RateLimiter(undefined, clock.now),
    agentRuntime,
    turns: new TurnQueue(database.sql ? database.db : undefined),
    now: clock.now,
    tokenCache: new TokenCache({ now: clock.now }),
    lastUsed,
    limits: allLimits,
    liveStreams: new LiveStreamCaps(allLimits),
    clientTokenOrigin,
    accounts: {
      organizationName: 'app',
      webOrigins: [APP_ORIGIN],
      agentApiUrl: '',
      sessionTtlMs: 7 * 24 * 60 * 60 * 1000,
      webTokenTtlMs: 10 * 60 * 1000,
      loginFailuresPerMinute: 5,
      loginFailuresPerUsernamePerMinute: 20,
      signUp: 'open',
      signUpsPerAddressPerHour: 1_000,
      sessionTokensPerMinute: 1_000,
      secureCookies: false,
      // Hashing is most of what signing up and logging in cost, and the suite does both
      // hundreds of times; production's cost is checked in accounts.test.ts.
      passwordCost: TEST_PASSWORD_COST,
      ...accounts,
    },
  };
}

export interface SeededOrganization {
  organizationId: string;
  apiKey: string;
  apiKeyId: string;
  agentId: string;
  otherAgentId: string;
}

/** An organization with a server-side key and two agents. */
export async function seedOrganization(
  deps: ServiceDeps,
  name: string,
): Promise<SeededOrganization> {
  const org = await ensureOrganization(deps, name);
  const key = await createApiKey(deps, { organizationId: org.id, name: `${name} backend` });
  const agent = await createAgent(deps, { organizationId: org.id, name: `${name} agent` });
  const other = await createAgent(deps, { organizationId: org.id, name: `${name} other agent` });
  return {
    organizationId: org.id,
    apiKey: key.key,
    apiKeyId: key.id,
    agentId: agent.id,
    otherAgentId: other.id,
  };
}

/** scrypt at 2^10 instead of 2^15: hashes the same way, in a thirty-second of the time. */
export const TEST_PASSWORD_COST: PasswordCost = { N: 2 ** 10, r: 8, p: 1 };

export const APP_ORIGIN = 'https://chat.example.com';
