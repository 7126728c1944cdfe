// The parsed settings the server runs with: one part per area, each declared beside its
// settings in the *-settings.ts file of this folder.
import type { AccountsConfig } from './account-settings.js';
import type { AgentConfig } from './agent-settings.js';
import type { ConversationConfig } from './conversation-settings.js';
import type { DatabaseConfig } from './database-settings.js';
import type { LettaHostConfig } from './letta-host-settings.js';
import type { LimitConfig } from './limit-settings.js';
import type { ServerConfig } from './server-settings.js';
import type { TokenConfig } from './token-settings.js';

export interface Config
  extends ServerConfig,
    DatabaseConfig,
    TokenConfig,
    LimitConfig,
    ConversationConfig {
  accounts: AccountsConfig;
  agent: AgentConfig;
  /** Set when the agents live on Letta (SCOPEKIT_AGENT_HOST=letta), not on this server. */
  lettaHost: LettaHostConfig | undefined;
}
