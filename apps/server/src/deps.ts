import type { AgentRuntime } from './agent-runtime/runtime.js';
import type { LiveStreamCaps, StreamCapLimits } from './auth/stream-caps.js';
import type { TokenCache } from './auth/token-cache.js';
import type { AccountsConfig } from './config/account-settings.js';
import type { TurnQueue } from './conversation/turn-queue.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { Database } from './db/client.js';
import type { EventBus } from './events/bus.js';
import type { LastUsedRecorder } from './infra/last-used.js';
import type { RateLimiter } from './infra/rate-limiter.js';
import type { LettaHost } from './letta-host/letta-host.js';

/** What every service needs besides its own arguments; built once per process. */
export interface ServiceDeps {
  db: Database;
  secrets: SecretBox;
  /** Cross-instance events (revocations, live messages). */
  bus: EventBus;
  now: () => Date;
  /** Verified credentials of this instance; revocations evict it everywhere through `bus`. */
  tokenCache: TokenCache;
  /** `last_used_at`, written behind in batches. */
  lastUsed: LastUsedRecorder;
  rateLimiter: RateLimiter;
  /** What produces an agent's replies (builtin or an OpenAI-compatible model). */
  agentRuntime: AgentRuntime;
  /** Queues turns per agent. */
  turns: TurnQueue;
  limits: {
    /** Upper bound on a client-side token's lifetime. */
    tokenMaxTtlMs: number;
    /** Requests per minute for one client-side token, and for one API key. */
    clientTokenPerMinute: number;
    apiKeyPerMinute: number;
    /** Failed bearer authentications per client address (an IPv6 /64) per minute. */
    bearerFailuresPerMinute: number;
    /** Largest message a user may send, in UTF-8 bytes. */
    messageMaxBytes: number;
    /** Earlier messages the model sees each turn. */
    historyWindow: number;
    /** A turn stops when its runtime is quiet this long, or when it has run this long. */
    turnIdleTimeoutMs: number;
    turnTimeoutMs: number;
    /** Model steps a turn may take; a model still calling tools after them is stopped. */
    turnMaxSteps: number;
  } & StreamCapLimits;
  /** Live event streams open on this instance, under their caps. */
  liveStreams: LiveStreamCaps;
  /**
   * Whether a client-side token needs an `Origin` to match its hostname (`required`), or
   * may also come without one (`optional`); a mismatched one is refused either way.
   */
  clientTokenOrigin: 'required' | 'optional';
  /** Web users: their organization, sessions, and the tokens their sessions mint. */
  accounts: AccountsConfig;
  /** Set when the agents live on Letta (SCOPEKIT_AGENT_HOST=letta); see letta-host/. */
  lettaHost?: LettaHost | undefined;
}
