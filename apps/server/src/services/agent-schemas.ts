import { z } from 'zod';

/**
 * Agent input in Letta's wire shape (snake_case), shared by tRPC and REST so both accept
 * and refuse exactly the same things. Unknown fields are refused rather than ignored: a
 * misspelt `sytem` should be an error, not a silent no-op.
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
const memoryBlock = z.strictObject({
  label: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,49}$/, 'must be lowercase letters, digits or _ (at most 50)'),
  value: z.string().max(10_000, 'must be at most 10000 characters'),
  description: z.string().max(1_000).optional(),
});
const memoryBlocks = z
  .array(memoryBlock)
  .max(20, 'must have at most 20 blocks')
  .refine((blocks) => new Set(blocks.map((b) => b.label)).size === blocks.length, {
    message: 'labels must be unique',
  });
const metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 10_000, 'must be at most 10000 bytes as JSON')
  .nullable();

export const agentCreateSchema = z.strictObject({
  name: name.optional(),
  system: system.optional(),
  description: description.optional(),
  model: model.optional(),
  tags: tags.optional(),
  memory_blocks: memoryBlocks.optional(),
  metadata: metadata.optional(),
});
export type AgentCreateInput = z.infer<typeof agentCreateSchema>;

export const agentUpdateSchema = z.strictObject({
  name: name.optional(),
  system: system.optional(),
  description: description.optional(),
  model: model.optional(),
  tags: tags.optional(),
  memory_blocks: memoryBlocks.optional(),
  metadata: metadata.optional(),
});
export type AgentUpdateInput = z.infer<typeof agentUpdateSchema>;

/** Letta pages lists with an id cursor (`after`/`before`) and an order. */
export const agentListSchema = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(50),
  order: z.enum(['asc', 'desc']).default('desc'),
  name: z.string().max(200).optional(),
  tags: z.array(z.string().max(100)).max(50).optional(),
});
export type AgentListInput = z.input<typeof agentListSchema>;
