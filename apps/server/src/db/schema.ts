import type { Policy } from '@scopekit/policy';
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const organizations = pgTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: createdAt(),
});

/** Server-side keys (`sk-let-…`). Only the SHA-256 of the key is kept: it is shown once, at creation. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** Prefix and first characters, so a person can tell keys apart without the secret. */
    hint: text('hint').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_organization_idx').on(t.organizationId)],
);

export const agents = pgTable(
  'agents',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    system: text('system').notNull().default(''),
    description: text('description'),
    model: text('model'),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    /** Names of the built-in tools attached to it (agents/tool-catalog.ts), in attach order. */
    tools: jsonb('tools').$type<string[]>().notNull().default([]),
    /**
     * The instance running this agent's turn, and until when its lease holds: turns are
     * serialized across instances with plain pooled queries, and a crashed holder's lease
     * simply runs out.
     */
    turnHolder: text('turn_holder'),
    turnLeaseUntil: timestamp('turn_lease_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('agents_organization_idx').on(t.organizationId, t.createdAt, t.id),
    // The target of agent_blocks' foreign key: a block and its agents share an organization.
    unique('agents_id_organization_unique').on(t.id, t.organizationId),
  ],
);

/**
 * Letta's memory blocks: labelled texts an agent sees every turn. Each is its own row, so
 * one block can be attached to several agents (`agent_blocks`), and an edit through one is
 * what the others see.
 */
export const blocks = pgTable(
  'blocks',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    label: text('label').notNull(),
    value: text('value').notNull(),
    description: text('description'),
    /** Most characters `value` may hold; null means MEMORY_BLOCK_MAX_CHARS. */
    limit: integer('limit'),
    /** The agents' memory tools may not change it (the API may). */
    readOnly: boolean('read_only').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('blocks_organization_idx').on(t.organizationId, t.createdAt, t.id),
    unique('blocks_id_organization_unique').on(t.id, t.organizationId),
  ],
);

/**
 * Which blocks an agent has, in its order. The organization is in both foreign keys, so a
 * block can only be attached to agents of its own organization, whatever the code does;
 * the label is kept here (blocks are not renamed) so an agent has one block per label.
 */
export const agentBlocks = pgTable(
  'agent_blocks',
  {
    agentId: text('agent_id').notNull(),
    blockId: text('block_id').notNull(),
    organizationId: text('organization_id').notNull(),
    label: text('label').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.agentId, t.blockId] }),
    uniqueIndex('agent_blocks_agent_label_idx').on(t.agentId, t.label),
    index('agent_blocks_block_idx').on(t.blockId),
    foreignKey({
      columns: [t.agentId, t.organizationId],
      foreignColumns: [agents.id, agents.organizationId],
    }).onDelete('cascade'),
    foreignKey({
      columns: [t.blockId, t.organizationId],
      foreignColumns: [blocks.id, blocks.organizationId],
    }).onDelete('cascade'),
  ],
);

export const identityType = pgEnum('identity_type', ['org', 'user', 'other']);

/** A property of an identity, typed as Letta types it. */
export interface IdentityProperty {
  key: string;
  type: 'string' | 'number' | 'boolean' | 'json';
  value: string | number | boolean | Record<string, unknown>;
}

/**
 * Letta's identities: the people (or organizations) of the operator's own app, known by the
 * app's own key for them, so each user can be mapped to their agents (Letta's multi-user
 * guide). Identity, not authentication: whoever holds the sk-let- key says who is who.
 */
export const identities = pgTable(
  'identities',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    identifierKey: text('identifier_key').notNull(),
    name: text('name').notNull(),
    identityType: identityType('identity_type').notNull(),
    properties: jsonb('properties').$type<IdentityProperty[]>().notNull().default([]),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('identities_key_idx').on(t.organizationId, t.identifierKey),
    index('identities_organization_idx').on(t.organizationId, t.createdAt, t.id),
  ],
);

/** Which identities an agent belongs to; either side may have many. */
export const agentIdentities = pgTable(
  'agent_identities',
  {
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    identityId: text('identity_id')
      .notNull()
      .references(() => identities.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.agentId, t.identityId] }),
    index('agent_identities_identity_idx').on(t.identityId, t.agentId),
  ],
);

export const userRole = pgEnum('user_role', ['user', 'admin']);

/**
 * People who log in to the web app. Each belongs to the app's organization and owns one
 * agent, created with the account. Only a scrypt hash of the password is kept.
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    username: text('username').notNull().unique(),
    passwordHash: text('password_hash').notNull(),
    role: userRole('role').notNull().default('user'),
    /** The user's agent here; null when it lives on Letta instead (`lettaAgentId`). */
    agentId: text('agent_id').references(() => agents.id, { onDelete: 'restrict' }),
    /** The user's agent on Letta, under SCOPEKIT_AGENT_HOST=letta (see letta-host/). */
    lettaAgentId: text('letta_agent_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('users_organization_idx').on(t.organizationId),
    check('users_one_agent', sql`(${t.agentId} is null) <> (${t.lettaAgentId} is null)`),
  ],
);

/**
 * Log-in sessions. The cookie carries a random id; only its SHA-256 is stored, so a
 * database dump cannot be replayed as a cookie.
 */
export const sessions = pgTable(
  'sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

export interface MemoryBlock {
  label: string;
  value: string;
  description?: string | undefined;
  /** Most characters `value` may hold; absent means MEMORY_BLOCK_MAX_CHARS. */
  limit?: number | undefined;
  /** The agent's memory tools may not change it (its API may). */
  read_only?: boolean | undefined;
}

export type MessageType =
  | 'user_message'
  | 'assistant_message'
  | 'system_message'
  | 'reasoning_message'
  | 'tool_call_message'
  | 'tool_return_message';

/** Which tool call a tool message is, and for a return, how it went. */
export interface ToolDetail {
  toolCallId: string;
  name: string;
  status?: 'success' | 'error';
}

/**
 * A conversation is an agent's messages in `seq` order. `seq` is global and only grows, so
 * it is the cursor for paging and the event id a live stream resumes from.
 */
export const messages = pgTable(
  'messages',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull().unique(),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    messageType: text('message_type').$type<MessageType>().notNull(),
    /** The text; a tool call's arguments (JSON), a tool return's result, a model's reasoning. */
    content: text('content').notNull(),
    /** Set on tool call and tool return messages only. */
    tool: jsonb('tool').$type<ToolDetail>(),
    /** The client's own id for a message it sent, echoed back so it can match its optimistic copy. */
    otid: text('otid'),
    /** The turn (send) a message belongs to. */
    runId: text('run_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('messages_agent_seq_idx').on(t.agentId, t.seq),
    // A send looks its otids up to refuse a client's retry; most messages have none.
    index('messages_agent_otid_idx').on(t.agentId, t.otid).where(sql`${t.otid} is not null`),
    // A run's messages: `runs.messages` and a resumed run stream.
    index('messages_run_seq_idx').on(t.runId, t.seq),
  ],
);

export type RunStatus = 'created' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * Letta's runs: one per send, its messages those with its `run_id`. A background send
 * (`messages.createAsync`) answers with its run before the turn starts.
 */
export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    status: text('status').$type<RunStatus>().notNull(),
    /** Why the turn stopped (Letta's stop reason), once it has. */
    stopReason: text('stop_reason'),
    background: boolean('background').notNull(),
    createdAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    index('runs_organization_created_idx').on(t.organizationId, t.createdAt),
    index('runs_agent_created_idx').on(t.agentId, t.createdAt),
  ],
);

/**
 * Client-side tokens (`ck-let-…`). Looked up by SHA-256; the value itself is kept only
 * AES-256-GCM encrypted because Letta's list call shows it again. A database dump alone
 * therefore yields no usable credential.
 */
export const clientTokens = pgTable(
  'client_tokens',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The API key that minted it, when one did (a login session may mint too). */
    apiKeyId: text('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    /** The log-in session that minted it, if one did: log-out revokes what it minted. */
    sessionIdHash: text('session_id_hash'),
    tokenHash: text('token_hash').notNull().unique(),
    tokenCiphertext: text('token_ciphertext'),
    hint: text('hint').notNull(),
    hostname: text('hostname').notNull(),
    policy: jsonb('policy').$type<Policy>().notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    // Ascending on purpose: read backwards it gives exactly `order by … desc` (nulls first),
    // which a `desc` index (nulls last, as drizzle writes it) does not, forcing a sort.
    index('client_tokens_live_idx')
      .on(t.organizationId, t.createdAt, t.id)
      .where(sql`${t.revokedAt} is null`),
    index('client_tokens_expires_idx').on(t.expiresAt),
    index('client_tokens_session_idx')
      .on(t.sessionIdHash)
      .where(sql`${t.sessionIdHash} is not null and ${t.revokedAt} is null`),
    // The sweeper finds revoked tokens by this; live ones (the vast majority) are not in it.
    index('client_tokens_revoked_idx').on(t.revokedAt).where(sql`${t.revokedAt} is not null`),
  ],
);

/** Which agents a token's policy names: lets "tokens for agent X" use an index, not a JSON scan. */
export const clientTokenAgents = pgTable(
  'client_token_agents',
  {
    tokenId: text('token_id')
      .notNull()
      .references(() => clientTokens.id, { onDelete: 'cascade' }),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    /** Copied from the token so "newest tokens of agent X" is one ordered index range. */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tokenId, t.agentId] }),
    // Ascending, read backwards, like client_tokens_live_idx.
    index('client_token_agents_agent_idx').on(t.agentId, t.createdAt, t.tokenId),
  ],
);

/**
 * Request counts per key and fixed window, summed across instances: each instance counts
 * locally and adds its counts here in batches, so a limit holds cluster-wide without a
 * database write per request.
 */
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    key: text('key').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    count: integer('count').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.key, t.windowStart] }),
    index('rate_limit_window_idx').on(t.windowStart),
  ],
);

/**
 * The `ck-let-` tokens a session minted at Letta (SCOPEKIT_AGENT_HOST=letta): Letta holds
 * the token; this record is how log-out, a password change and the admin find it again to
 * revoke it there (by value, which is all Letta's DELETE takes). The value is kept only
 * encrypted, and dropped once revoked.
 */
export const lettaTokens = pgTable(
  'letta_tokens',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionIdHash: text('session_id_hash').notNull(),
    /** The Letta agent the token is scoped to. */
    agentId: text('agent_id').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    tokenCiphertext: text('token_ciphertext'),
    hint: text('hint').notNull(),
    hostname: text('hostname').notNull(),
    policy: jsonb('policy').$type<Policy>().notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    index('letta_tokens_live_idx')
      .on(t.organizationId, t.createdAt, t.id)
      .where(sql`${t.revokedAt} is null`),
    index('letta_tokens_session_idx').on(t.sessionIdHash).where(sql`${t.revokedAt} is null`),
    index('letta_tokens_expires_idx').on(t.expiresAt),
  ],
);
