import { z } from 'zod';
import { pageLimit } from '../lib/page-limit.js';
import { toolIdsSchema, toolNamesSchema } from './tool-schemas.js';
import { emptyList, emptyMap, nullOnly } from './unsupported-fields.js';

/**
 * Agent input in Letta's wire shape (snake_case), shared by tRPC and REST so both accept
 * and refuse exactly the same things. Every field the Letta SDK declares for these calls is
 * named here: the ones this server honours, the ones it accepts and ignores (tuning for
 * features it does not have: SDK code written for Letta runs unchanged), and the ones it
 * refuses unless empty (ignoring them would silently drop what the caller asked for, e.g.
 * tools). Anything else is refused: a misspelt `sytem` is an error, not a silent no-op.
 */
const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');
const system = z.string().max(20_000, 'must be at most 20000 characters');
const description = z.string().max(2_000, 'must be at most 2000 characters').nullable();
const model = z.string().trim().min(1, 'must not be empty').max(200).nullable();
const tags = z
  .array(z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'))
  .max(50, 'must have at most 50 tags');

/** A block's value is at most this many characters, and so is its `limit`. */
export const MEMORY_BLOCK_MAX_CHARS = 10_000;
/** Characters as Letta (and PostgreSQL's char_length) count them: code points. */
export const charCount = (text: string) => [...text].length;

export const blockLabel = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,49}$/, 'must be lowercase letters, digits or _ (at most 50)');
export const blockValue = z.string().refine((v) => charCount(v) <= MEMORY_BLOCK_MAX_CHARS, {
  message: `must be at most ${MEMORY_BLOCK_MAX_CHARS} characters`,
});
export const blockDescription = z.string().max(1_000, 'must be at most 1000 characters');
export const blockLimit = z
  .number()
  .int()
  .min(1, 'must be at least 1')
  .max(MEMORY_BLOCK_MAX_CHARS, `must be at most ${MEMORY_BLOCK_MAX_CHARS}`);

/** What Letta's agent list may be asked to include; everything is always there here. */
const AGENT_INCLUDES = [
  'agent.blocks',
  'agent.identities',
  'agent.managed_group',
  'agent.pending_approval',
  'agent.secrets',
  'agent.sources',
  'agent.tags',
  'agent.tools',
] as const;

/** Block fields of Letta's templates, projects and deployments: accepted, not stored. */
export const ignoredBlockFields = {
  base_template_id: z.string().nullable().optional(),
  deployment_id: z.string().nullable().optional(),
  entity_id: z.string().nullable().optional(),
  hidden: z.boolean().nullable().optional(),
  is_template: z.boolean().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  preserve_on_migration: z.boolean().nullable().optional(),
  project_id: z.string().nullable().optional(),
  read_only: z.boolean().optional(),
  tags: z.array(z.string()).nullable().optional(),
  template_id: z.string().nullable().optional(),
  template_name: z.string().nullable().optional(),
};

export const exceedsLimitMessage = (chars: number, limit: number) =>
  `is ${chars} characters; the block's limit is ${limit}`;

/**
 * Letta's `CreateBlock`, for an agent's `memory_blocks` and for `blocks.create` alike: what
 * is stored is the label, value, description, limit and read_only.
 */
export const blockCreateSchema = z
  .strictObject({
    label: blockLabel,
    value: blockValue,
    description: blockDescription.nullable().optional(),
    limit: blockLimit.optional(),
    ...ignoredBlockFields,
  })
  .superRefine((block, ctx) => {
    const chars = charCount(block.value);
    if (block.limit !== undefined && chars > block.limit) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: exceedsLimitMessage(chars, block.limit),
      });
    }
  })
  .transform(({ label, value, description, limit, read_only }) => ({
    label,
    value,
    ...(description != null && { description }),
    ...(limit !== undefined && { limit }),
    ...(read_only && { read_only }),
  }));
export type BlockCreateInput = z.input<typeof blockCreateSchema>;
const memoryBlocks = z
  .array(blockCreateSchema)
  .max(20, 'must have at most 20 blocks')
  .refine((blocks) => new Set(blocks.map((b) => b.label)).size === blocks.length, {
    message: 'labels must be unique',
  });
const metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 10_000, 'must be at most 10000 bytes as JSON')
  .nullable();

/** Fields of both AgentCreateParams and AgentUpdateParams that tune what this server lacks. */
const ignoredAgentFields = {
  base_template_id: z.string().nullable().optional(),
  compaction_settings: z.record(z.string(), z.unknown()).nullable().optional(),
  context_window_limit: z.number().int().nullable().optional(),
  embedding: z.string().nullable().optional(),
  embedding_config: z.record(z.string(), z.unknown()).nullable().optional(),
  enable_sleeptime: z.boolean().nullable().optional(),
  hidden: z.boolean().nullable().optional(),
  llm_config: z.record(z.string(), z.unknown()).nullable().optional(),
  max_files_open: z.number().int().nullable().optional(),
  max_tokens: z.number().int().nullable().optional(),
  message_buffer_autoclear: z.boolean().nullable().optional(),
  model_settings: z.record(z.string(), z.unknown()).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  per_file_view_window_char_limit: z.number().int().nullable().optional(),
  project_id: z.string().nullable().optional(),
  reasoning: z.boolean().nullable().optional(),
  response_format: z.record(z.string(), z.unknown()).nullable().optional(),
  template_id: z.string().nullable().optional(),
  timezone: z.string().nullable().optional(),
};
const unsupportedAgentFields = {
  block_ids: emptyList,
  folder_ids: emptyList,
  secrets: emptyMap,
  source_ids: emptyList,
  tool_exec_environment_variables: emptyMap,
  tool_rules: emptyList,
};

/** What an agent is made of, the same whether it is being created or updated. */
const agentFields = {
  name: name.optional(),
  system: system.optional(),
  description: description.optional(),
  model: model.optional(),
  tags: tags.optional(),
  memory_blocks: memoryBlocks.optional(),
  metadata: metadata.optional(),
  /** The agent's tools, by id: on update, the whole new set. */
  tool_ids: toolIdsSchema.optional(),
  /** The identities (users of the operator's app) it belongs to: on update, the whole set. */
  identity_ids: z
    .array(z.string().min(1).max(200))
    .max(50, 'must have at most 50 identities')
    .nullable()
    .optional(),
  ...ignoredAgentFields,
};

export const agentCreateSchema = z.strictObject({
  ...agentFields,
  agent_type: z.string().optional(),
  embedding_chunk_size: z.number().int().nullable().optional(),
  enable_reasoner: z.boolean().nullable().optional(),
  include_base_tool_rules: z.boolean().nullable().optional(),
  /** Letta's memory tools this server runs (BASE_TOOL_NAMES); true unless said otherwise. */
  include_base_tools: z.boolean().optional(),
  include_default_source: z.boolean().optional(),
  max_reasoning_tokens: z.number().int().nullable().optional(),
  memory_variables: z.record(z.string(), z.string()).nullable().optional(),
  project: z.string().nullable().optional(),
  template: z.boolean().optional(),
  ...unsupportedAgentFields,
  from_template: nullOnly,
  initial_message_sequence: emptyList,
  /** Tools by Letta's names, besides the base tools. */
  tools: toolNamesSchema.optional(),
  /** Blocks of the organization (`blocks.create`) to share, after `memory_blocks`. */
  block_ids: z
    .array(z.string().min(1).max(200))
    .max(20, 'must have at most 20 blocks')
    .nullable()
    .optional(),
});
export type AgentCreateInput = z.input<typeof agentCreateSchema>;

/** An update names only what changes. */
export const agentUpdateSchema = z.strictObject({
  ...agentFields,
  // Run bookkeeping that Letta's own workers write back; this server keeps none.
  last_run_completion: z.string().nullable().optional(),
  last_run_duration_ms: z.number().nullable().optional(),
  last_stop_reason: z.string().nullable().optional(),
  ...unsupportedAgentFields,
  message_ids: emptyList,
});
export type AgentUpdateInput = z.input<typeof agentUpdateSchema>;

/** Agents are listed in the order they were created; Letta's other order is by last run. */
const byCreation = z
  .literal('created_at', { error: 'is not supported by this server; only created_at is' })
  .nullable()
  .optional();

/**
 * Letta's `AgentListParams`: pages with an id cursor (`after`/`before`) and an order, and
 * filters by name (exact, or `query_text` within it) and by tags (any, or all with
 * `match_all_tags`). `ascending` is Letta's older way to say the order. `include` and
 * `include_relationships` only shape Letta's answer (this server always answers whole), and
 * `project_id` names the one project an organization has here; `identity_id` and
 * `identifier_keys` find the agents of a user of the operator's app. Filters by what this
 * server does not keep (templates, creators, runs) are refused unless empty.
 */
export const agentListFields = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: pageLimit(100).default(50),
  order: z.enum(['asc', 'desc']).optional(),
  ascending: z.boolean().optional(),
  order_by: byCreation,
  sort_by: byCreation,
  name: z.string().max(200).nullable().optional(),
  query_text: z.string().max(200).nullable().optional(),
  tags: z.array(z.string().max(100)).max(50).nullable().optional(),
  match_all_tags: z.boolean().optional(),
  include: z.array(z.enum(AGENT_INCLUDES)).max(AGENT_INCLUDES.length).nullable().optional(),
  include_relationships: z.array(z.string().max(100)).max(50).nullable().optional(),
  project_id: z.string().max(200).nullable().optional(),
  base_template_id: nullOnly,
  created_by_id: nullOnly,
  identifier_keys: z.array(z.string().max(200)).max(50).nullable().optional(),
  identity_id: z.string().max(200).nullable().optional(),
  last_stop_reason: nullOnly,
  template_id: nullOnly,
});
export const agentListSchema = agentListFields
  .refine(
    (q) =>
      q.order === undefined || q.ascending === undefined || q.ascending === (q.order === 'asc'),
    { path: ['ascending'], message: 'contradicts order; give one of them' },
  )
  .transform(({ ascending, order, ...rest }) => ({
    ...rest,
    order: order ?? (ascending ? ('asc' as const) : ('desc' as const)),
  }));
export type AgentListInput = z.input<typeof agentListSchema>;

/**
 * Letta's `BlockUpdate`, for one block named by its label. A block is known by its label
 * here, so `label` may only repeat it; the template fields are accepted and ignored.
 */
export const blockUpdateSchema = z.strictObject({
  value: blockValue.nullable().optional(),
  description: blockDescription.nullable().optional(),
  limit: blockLimit.nullable().optional(),
  label: blockLabel.nullable().optional(),
  ...ignoredBlockFields,
});
export type BlockUpdateInput = z.input<typeof blockUpdateSchema>;

/** Letta's page query for a block list; blocks are few, so the page is cut from the list. */
export const blockListSchema = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: pageLimit(100).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  order_by: z.literal('created_at').optional(),
});
export type BlockListInput = z.input<typeof blockListSchema>;
