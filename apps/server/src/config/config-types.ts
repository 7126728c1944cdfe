// The parsed settings the server runs with: one field per setting, grouped by area.
import type { StreamCapLimits } from '../auth/stream-caps.js';
import type { TrustProxy } from './trust-proxy.js';

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  dataDir: string;
  encryptionKey: string | undefined;
  /** Comma-separated keys tried after `encryptionKey` to decrypt, never to encrypt. */
  previousEncryptionKeys: string | undefined;
  tokenMaxTtlMs: number;
  clientTokenPerMinute: number;
  apiKeyPerMinute: number;
  bearerFailuresPerMinute: number;
  sweepIntervalMs: number;
  tokenRetainMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
  trustProxy: TrustProxy;
  clientTokenOrigin: 'required' | 'optional';
  streamCaps: StreamCapLimits;
  accounts: AccountsConfig;
  webDist: string;
  agent: {
    provider: 'builtin' | 'openai';
    builtinPieceDelayMs: number;
    llmBaseUrl: string;
    llmApiKey: string | undefined;
    llmModel: string;
    llmStream: boolean;
    llmStreamUsage: boolean;
    llmContextWindow: number;
  };
  messageMaxBytes: number;
  historyWindow: number;
  turnIdleTimeoutMs: number;
  turnTimeoutMs: number;
  turnMaxSteps: number;
}

export interface AccountsConfig {
  organizationName: string;
  /** Normalised origins; the first is used when a request names none. */
  webOrigins: string[];
  /** The agent API's origin as the browser should call it; '' means the web app's own. */
  agentApiUrl: string;
  sessionTtlMs: number;
  webTokenTtlMs: number;
  /** Failed log-ins per client address, and per username typed. */
  loginFailuresPerMinute: number;
  loginFailuresPerUsernamePerMinute: number;
  signUp: 'open' | 'closed';
  signUpsPerAddressPerHour: number;
  /** Session tokens minted per user. */
  sessionTokensPerMinute: number;
  /** Cookies marked Secure: in production, where the app is served over https. */
  secureCookies: boolean;
}
