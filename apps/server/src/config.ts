/**
 * Everything the server reads from the environment, parsed once at start so a
 * misconfiguration fails loudly before the first request instead of at the first use.
 *
 * Adding a setting: it goes in the file of its area under config/, which holds that area's
 * part of the schema, its part of `Config` and how one maps to the other:
 *   server-settings.ts        port, host, log level, shutdown, proxies, the built web app
 *   database-settings.ts      DATABASE_URL, DATA_DIR, the PostgreSQL pool
 *   account-settings.ts       organization, web origins, sessions, sign-up, log-in limits
 *   token-settings.ts         token lifetimes, the encryption key, the sweeper
 *   limit-settings.ts         per-credential and per-address rates, live stream caps
 *   agent-settings.ts         the model provider and how it is called
 *   conversation-settings.ts  message size, history, turn timeouts and steps
 *   letta-host-settings.ts    SCOPEKIT_AGENT_HOST=letta: Letta's URL, key and project
 * A new area gets its own file, composed below. Then give the setting a row in
 * docs/configuration.md (the docs-check test finds every key of these schemas).
 */
import { z } from 'zod';
import { accountSettings, accountsConfig } from './config/account-settings.js';
import { agentConfig, agentSettings } from './config/agent-settings.js';
import type { Config } from './config/config-types.js';
import { conversationConfig, conversationSettings } from './config/conversation-settings.js';
import { databaseConfig, databaseSettings } from './config/database-settings.js';
import { lettaHostConfig, lettaHostSettings } from './config/letta-host-settings.js';
import { limitConfig, limitSettings } from './config/limit-settings.js';
import { serverConfig, serverSettings } from './config/server-settings.js';
import { tokenConfig, tokenSettings } from './config/token-settings.js';
import { StartRefusal } from './start-refusal.js';

const envSchema = z.object({
  ...serverSettings.shape,
  ...databaseSettings.shape,
  ...accountSettings.shape,
  ...tokenSettings.shape,
  ...limitSettings.shape,
  ...agentSettings.shape,
  ...conversationSettings.shape,
  ...lettaHostSettings.shape,
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new StartRefusal(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  // The agent part first: an incomplete provider is the refusal reported when several apply.
  const agent = agentConfig(e);
  const lettaHost = lettaHostConfig(e);
  const accounts = accountsConfig(e, { port: e.PORT, production: e.NODE_ENV === 'production' });
  return {
    ...serverConfig(e),
    ...databaseConfig(e),
    // With Letta as the host, the browser calls Letta itself.
    accounts: lettaHost ? { ...accounts, agentApiUrl: lettaHost.baseUrl } : accounts,
    ...tokenConfig(e),
    ...limitConfig(e),
    agent,
    ...conversationConfig(e),
    lettaHost,
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
