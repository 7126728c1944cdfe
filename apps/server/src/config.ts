import { DEFAULT_MAX_TOKEN_TTL_MS } from '@scopekit/policy';
import { z } from 'zod';
import { DEFAULT_CONTEXT_WINDOW } from './agent-runtime/runtime.js';
import type { Config } from './config/config-types.js';
import { parseTrustProxy } from './config/trust-proxy.js';
import { parseAgentApiUrl, parseWebOrigins } from './config/web-origins.js';
import { StartRefusal } from './start-refusal.js';

/**
 * Everything the server reads from the environment, parsed once at start so a
 * misconfiguration fails loudly before the first request instead of at the first use.
 */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8283),
  HOST: z.string().default('127.0.0.1'),
  /** unset → embedded PGlite under DATA_DIR; `memory://` → PGlite in memory; `postgres://…` → PostgreSQL. */
  DATABASE_URL: z.string().optional(),
  DATA_DIR: z.string().optional(),
  /** 32 bytes, base64 or hex: encrypts token values that the list call must show again. */
  SCOPEKIT_ENCRYPTION_KEY: z.string().optional(),
  /** Keys replaced by SCOPEKIT_ENCRYPTION_KEY (comma-separated): they only decrypt. */
  SCOPEKIT_ENCRYPTION_KEY_PREVIOUS: z.string().optional(),
  SCOPEKIT_TOKEN_MAX_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_MAX_TOKEN_TTL_MS / 1000),
  SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().positive().default(600),
  SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  /** Failed bearer authentications per client address: each unknown token costs a read. */
  SCOPEKIT_BEARER_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(60),
  /**
   * Origins the web app is served from (comma-separated). Session cookies are accepted only
   * from these, and the tokens a session mints are bound to one of them.
   */
  SCOPEKIT_WEB_ORIGINS: z.string().optional(),
  /**
   * Where the browser reaches the agent API, when it is served from another origin than the
   * web app (a split deployment). Handed to the browser with each token; unset, the same origin.
   */
  SCOPEKIT_AGENT_API_URL: z.string().optional(),
  /** The Vite dev server's port (apps/web/vite.config.ts reads it too): a default web origin. */
  SCOPEKIT_WEB_PORT: z.coerce.number().int().min(1).max(65535).default(5173),
  /**
   * `optional` accepts a ck-let- token from a client that sends no Origin (a Node backend,
   * server-side rendering, a mobile app), as Letta Cloud does; a wrong Origin is still
   * refused. Off by default: see SECURITY.md for what it gives up.
   */
  SCOPEKIT_CLIENT_TOKEN_ORIGIN: z.enum(['required', 'optional']).default('required'),
  /** The organization every web user belongs to (created on first use). */
  SCOPEKIT_ORGANIZATION: z.string().trim().min(1).max(100).default('default'),
  SCOPEKIT_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 60 * 60),
  /** Lifetime of the ck-let- token a session mints for the browser: short, it is refreshed. */
  SCOPEKIT_WEB_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).default(600),
  /** Failed log-ins per client address. */
  SCOPEKIT_LOGIN_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** Failed log-ins per username (known or not), against guesses spread over many addresses. */
  SCOPEKIT_LOGIN_FAILURES_PER_USERNAME_PER_MINUTE: z.coerce.number().int().positive().default(20),
  /** `closed` turns web sign-up off; the CLI still creates users. */
  SCOPEKIT_SIGNUP: z.enum(['open', 'closed']).default('open'),
  /** Each sign-up costs a password hash and a new agent (model calls under a paid provider). */
  SCOPEKIT_SIGNUPS_PER_ADDRESS_PER_HOUR: z.coerce.number().int().positive().default(10),
  /** ck-let- tokens a user's sessions may mint: refreshes in several tabs stay well under it. */
  SCOPEKIT_SESSION_TOKENS_PER_MINUTE: z.coerce.number().int().positive().default(30),
  /**
   * Live event streams (the web app's conversation stream) one client token, one web user
   * and one client address may hold open on an instance, and the instance in all: each holds
   * a connection and its buffers for as long as its client keeps it.
   */
  SCOPEKIT_STREAMS_PER_TOKEN: z.coerce.number().int().positive().default(5),
  SCOPEKIT_STREAMS_PER_USER: z.coerce.number().int().positive().default(20),
  SCOPEKIT_STREAMS_PER_ADDRESS: z.coerce.number().int().positive().default(200),
  SCOPEKIT_STREAMS_PER_INSTANCE: z.coerce.number().int().positive().default(2_000),
  /** The built web app (apps/web/dist) that the server serves when it exists. */
  SCOPEKIT_WEB_DIST: z.string().optional(),
  /** Connections in this instance's PostgreSQL pool (one more is opened for LISTEN). */
  SCOPEKIT_DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  SCOPEKIT_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().positive().default(600),
  /**
   * How long a stopping server waits for requests in flight (a long model turn) before it
   * exits anyway; under the 30 s an orchestrator usually allows before SIGKILL.
   */
  SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().positive().max(3_600).default(25),
  /** How long expired and revoked tokens are kept, so a request with one is told why it fails. */
  SCOPEKIT_TOKEN_RETAIN_SECONDS: z.coerce.number().int().min(0).default(86_400),
  /** `builtin` needs nothing; `openai` is any OpenAI-compatible Chat Completions endpoint. */
  SCOPEKIT_AGENT_PROVIDER: z.enum(['builtin', 'openai']).default('builtin'),
  /** Pause between the builtin agent's words, so a person sees the reply stream in. */
  SCOPEKIT_BUILTIN_DELAY_MS: z.coerce.number().int().min(0).max(5_000).default(30),
  LLM_BASE_URL: z.url().optional(),
  LLM_API_KEY: z.string().optional(),
  LLM_MODEL: z.string().min(1).optional(),
  LLM_STREAM: z.stringbool().default(true),
  /** Ask a streamed reply for its usage; `false` for servers that refuse `stream_options`. */
  LLM_STREAM_USAGE: z.stringbool().default(true),
  /** The model's context window in tokens, as agents' `llm_config` reports it. */
  LLM_CONTEXT_WINDOW: z.coerce.number().int().positive().default(DEFAULT_CONTEXT_WINDOW),
  /** Largest message a user may send, in bytes of UTF-8. */
  SCOPEKIT_MESSAGE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024),
  /** How many earlier messages the model sees each turn. */
  SCOPEKIT_HISTORY_WINDOW: z.coerce.number().int().min(1).max(1_000).default(20),
  /**
   * A turn whose model goes quiet this long between pieces (or before the first), or that
   * runs this long in all, is stopped with llm_api_error: it would hold its agent meanwhile.
   */
  SCOPEKIT_TURN_IDLE_TIMEOUT_SECONDS: z.coerce.number().positive().max(3_600).default(60),
  SCOPEKIT_TURN_TIMEOUT_SECONDS: z.coerce.number().positive().max(86_400).default(300),
  /** Model steps in one turn (each tool call's result is read in a further step). */
  SCOPEKIT_TURN_MAX_STEPS: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Behind a load balancer: the proxies' comma-separated addresses/CIDRs. Off by default: a
   * direct client could forge the header.
   */
  SCOPEKIT_TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'object' && 'error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      }
      return parsed;
    }),
  SCOPEKIT_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StartRefusal(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.SCOPEKIT_AGENT_PROVIDER === 'openai' && (!e.LLM_BASE_URL || !e.LLM_MODEL)) {
    throw new StartRefusal(
      'Invalid configuration: SCOPEKIT_AGENT_PROVIDER=openai needs LLM_BASE_URL and LLM_MODEL',
    );
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL || undefined,
    databasePoolSize: e.SCOPEKIT_DB_POOL_SIZE,
    dataDir: e.DATA_DIR ?? new URL('../.data', import.meta.url).pathname,
    encryptionKey: e.SCOPEKIT_ENCRYPTION_KEY,
    previousEncryptionKeys: e.SCOPEKIT_ENCRYPTION_KEY_PREVIOUS,
    tokenMaxTtlMs: e.SCOPEKIT_TOKEN_MAX_TTL_SECONDS * 1000,
    clientTokenPerMinute: e.SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE,
    apiKeyPerMinute: e.SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE,
    bearerFailuresPerMinute: e.SCOPEKIT_BEARER_FAILURES_PER_MINUTE,
    sweepIntervalMs: e.SCOPEKIT_SWEEP_INTERVAL_SECONDS * 1000,
    tokenRetainMs: e.SCOPEKIT_TOKEN_RETAIN_SECONDS * 1000,
    shutdownTimeoutMs: e.SCOPEKIT_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    logLevel: e.SCOPEKIT_LOG_LEVEL,
    trustProxy: e.SCOPEKIT_TRUST_PROXY,
    clientTokenOrigin: e.SCOPEKIT_CLIENT_TOKEN_ORIGIN,
    streamCaps: {
      streamsPerToken: e.SCOPEKIT_STREAMS_PER_TOKEN,
      streamsPerUser: e.SCOPEKIT_STREAMS_PER_USER,
      streamsPerAddress: e.SCOPEKIT_STREAMS_PER_ADDRESS,
      streamsPerInstance: e.SCOPEKIT_STREAMS_PER_INSTANCE,
    },
    accounts: {
      organizationName: e.SCOPEKIT_ORGANIZATION,
      webOrigins: parseWebOrigins(
        e.SCOPEKIT_WEB_ORIGINS,
        [e.SCOPEKIT_WEB_PORT, e.PORT],
        e.NODE_ENV === 'production',
      ),
      agentApiUrl: parseAgentApiUrl(e.SCOPEKIT_AGENT_API_URL),
      sessionTtlMs: e.SCOPEKIT_SESSION_TTL_SECONDS * 1000,
      webTokenTtlMs: e.SCOPEKIT_WEB_TOKEN_TTL_SECONDS * 1000,
      loginFailuresPerMinute: e.SCOPEKIT_LOGIN_FAILURES_PER_MINUTE,
      loginFailuresPerUsernamePerMinute: e.SCOPEKIT_LOGIN_FAILURES_PER_USERNAME_PER_MINUTE,
      signUp: e.SCOPEKIT_SIGNUP,
      signUpsPerAddressPerHour: e.SCOPEKIT_SIGNUPS_PER_ADDRESS_PER_HOUR,
      sessionTokensPerMinute: e.SCOPEKIT_SESSION_TOKENS_PER_MINUTE,
      secureCookies: e.NODE_ENV === 'production',
    },
    webDist: e.SCOPEKIT_WEB_DIST ?? new URL('../../web/dist', import.meta.url).pathname,
    agent: {
      provider: e.SCOPEKIT_AGENT_PROVIDER,
      builtinPieceDelayMs: e.SCOPEKIT_BUILTIN_DELAY_MS,
      llmBaseUrl: e.LLM_BASE_URL ?? '',
      llmApiKey: e.LLM_API_KEY,
      llmModel: e.LLM_MODEL ?? '',
      llmStream: e.LLM_STREAM,
      llmStreamUsage: e.LLM_STREAM_USAGE,
      llmContextWindow: e.LLM_CONTEXT_WINDOW,
    },
    messageMaxBytes: e.SCOPEKIT_MESSAGE_MAX_BYTES,
    historyWindow: e.SCOPEKIT_HISTORY_WINDOW,
    turnIdleTimeoutMs: e.SCOPEKIT_TURN_IDLE_TIMEOUT_SECONDS * 1000,
    turnTimeoutMs: e.SCOPEKIT_TURN_TIMEOUT_SECONDS * 1000,
    turnMaxSteps: e.SCOPEKIT_TURN_MAX_STEPS,
  };
}

/**
 * What a server may not start without in production, each naming the setting to fix. The
 * CLI needs none of these, so it is checked at server start rather than by loadConfig.
 */
export function missingProductionSettings(config: Config): string[] {
  if (config.env !== 'production') return [];
  const missing: string[] = [];
  if (config.accounts.webOrigins.length === 0) {
    missing.push(
      'SCOPEKIT_WEB_ORIGINS is not set: set it to the origin(s) the web app is served from, comma-separated (e.g. https://chat.example.com)',
    );
  }
  return missing;
}
