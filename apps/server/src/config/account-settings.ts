// Web accounts and sessions: the organization, the web app's origins, sessions and the
// tokens they mint for the browser, sign-up, and the limits on log-ins and sign-ups.
import { z } from 'zod';
import { PASSWORD_COST, type PasswordCost } from '../crypto/password.js';
import { parseAgentApiUrl, parseWebOrigins } from './web-origins.js';

export const accountSettings = z.object({
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
});

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
  /** scrypt's cost for new password hashes: PASSWORD_COST, not a setting (tests lower it). */
  passwordCost: PasswordCost;
}

/** `server` is what the defaults follow: the server's own port and whether it is production. */
export function accountsConfig(
  e: z.infer<typeof accountSettings>,
  server: { port: number; production: boolean },
): AccountsConfig {
  return {
    organizationName: e.SCOPEKIT_ORGANIZATION,
    webOrigins: parseWebOrigins(
      e.SCOPEKIT_WEB_ORIGINS,
      [e.SCOPEKIT_WEB_PORT, server.port],
      server.production,
    ),
    agentApiUrl: parseAgentApiUrl(e.SCOPEKIT_AGENT_API_URL),
    sessionTtlMs: e.SCOPEKIT_SESSION_TTL_SECONDS * 1000,
    webTokenTtlMs: e.SCOPEKIT_WEB_TOKEN_TTL_SECONDS * 1000,
    loginFailuresPerMinute: e.SCOPEKIT_LOGIN_FAILURES_PER_MINUTE,
    loginFailuresPerUsernamePerMinute: e.SCOPEKIT_LOGIN_FAILURES_PER_USERNAME_PER_MINUTE,
    signUp: e.SCOPEKIT_SIGNUP,
    signUpsPerAddressPerHour: e.SCOPEKIT_SIGNUPS_PER_ADDRESS_PER_HOUR,
    sessionTokensPerMinute: e.SCOPEKIT_SESSION_TOKENS_PER_MINUTE,
    secureCookies: server.production,
    passwordCost: PASSWORD_COST,
  };
}
