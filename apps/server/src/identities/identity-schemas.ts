import { z } from 'zod';
import { emptyList } from '../agents/unsupported-fields.js';
import { pageLimit } from '../lib/page-limit.js';

/**
 * Identity input in Letta's wire shape (`IdentityCreate`, `IdentityUpdate`, `IdentityUpsert`
 * and the list query), shared by the REST routes and the service.
 */
const identifierKey = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');
const name = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');
const identityType = z.enum(['org', 'user', 'other']);
const agentIds = z
  .array(z.string().min(1).max(200))
  .max(100, 'must have at most 100 agents')
  .refine((ids) => new Set(ids).size === ids.length, { message: 'must not repeat an agent' });

const property = z
  .strictObject({
    key: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    type: z.enum(['string', 'number', 'boolean', 'json']),
    value: z.union([
      z.string().max(2_000),
      z.number(),
      z.boolean(),
      z.record(z.string(), z.unknown()),
    ]),
  })
  .superRefine((p, ctx) => {
    const kind = typeof p.value === 'object' ? 'json' : typeof p.value;
    if (kind !== p.type) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is ${kind}, not ${p.type}` });
    }
  });
export const identityPropertiesSchema = z
  .array(property)
  .max(50, 'must have at most 50 properties')
  .refine((ps) => JSON.stringify(ps).length <= 10_000, 'must be at most 10000 bytes as JSON')
  .refine((ps) => new Set(ps.map((p) => p.key)).size === ps.length, {
    message: 'keys must be unique',
  });

/** Letta's project of an identity: one per organization here, so it is accepted and ignored. */
const projectId = z.string().max(200).nullable().optional();

export const identityCreateSchema = z.strictObject({
  identifier_key: identifierKey,
  name,
  identity_type: identityType,
  agent_ids: agentIds.nullable().optional(),
  block_ids: emptyList,
  properties: identityPropertiesSchema.nullable().optional(),
  project_id: projectId,
});
export type IdentityCreateInput = z.input<typeof identityCreateSchema>;

/** An update names only what changes; `agent_ids` is the whole new set. */
export const identityUpdateSchema = z.strictObject({
  identifier_key: identifierKey.optional(),
  name: name.optional(),
  identity_type: identityType.optional(),
  agent_ids: agentIds.nullable().optional(),
  block_ids: emptyList,
  properties: identityPropertiesSchema.nullable().optional(),
});
export type IdentityUpdateInput = z.input<typeof identityUpdateSchema>;

export const identityListSchema = z.strictObject({
  after: z.string().min(1).max(200).nullable().optional(),
  before: z.string().min(1).max(200).nullable().optional(),
  limit: pageLimit(100).default(50),
  order: z.enum(['asc', 'desc']).default('desc'),
  order_by: z.literal('created_at').optional(),
  name: z.string().max(200).nullable().optional(),
  identifier_key: z.string().max(200).nullable().optional(),
  identity_type: identityType.nullable().optional(),
  project_id: projectId,
});
export type IdentityListInput = z.input<typeof identityListSchema>;
