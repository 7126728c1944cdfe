import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAgentAccess, requireApiKey } from '../../auth/authorize.js';
import {
  agentCreateSchema,
  agentUpdateSchema,
  blockUpdateSchema,
} from '../../services/agent-schemas.js';
import {
  createAgent,
  deleteAgent,
  getAgent,
  getBlock,
  listAgents,
  listBlocks,
  toAgentState,
  updateAgent,
  updateBlock,
} from '../../services/agents.js';
import type { ServiceDeps } from '../../services/deps.js';
import { refuseServerKeyAgentFields } from '../../services/server-key-only.js';
import { authenticate, parseOrThrow, queryInteger } from './authenticate.js';

const listQuery = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: queryInteger({ min: 1, max: 100 }).default(50),
  order: z.enum(['asc', 'desc']).default('desc'),
  name: z.string().max(200).optional(),
  // `?tags=a&tags=b` arrives as an array, `?tags=a` as a string.
  tags: z
    .union([z.string().max(100), z.array(z.string().max(100)).max(50)])
    .transform((t) => (Array.isArray(t) ? t : [t]))
    .optional(),
});

const blockListQuery = z.strictObject({
  after: z.string().min(1).max(200).optional(),
  before: z.string().min(1).max(200).optional(),
  limit: queryInteger({ min: 1, max: 100 }).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  order_by: z.literal('created_at').optional(),
});

type AgentParams = { Params: { agentId: string } };
type BlockParams = { Params: { agentId: string; label: string } };

/** Letta's agent routes (`/v1/agents/…`); the message routes are in messages.ts. */
export function registerAgentRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.post('/v1/agents', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const body = parseOrThrow(agentCreateSchema, request.body);
    const agent = await createAgent(deps, { organizationId: principal.organizationId, ...body });
    return reply.status(201).send(toAgentState(deps, agent));
  });

  app.get('/v1/agents', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const query = parseOrThrow(listQuery, request.query);
    const rows = await listAgents(deps, { organizationId: principal.organizationId, ...query });
    return rows.map((row) => toAgentState(deps, row));
  });

  app.get<AgentParams>('/v1/agents/:agentId', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAgentAccess(principal, agentId, 'read_agent');
    return toAgentState(
      deps,
      await getAgent(deps, { organizationId: principal.organizationId, agentId }),
    );
  });

  app.patch<AgentParams>('/v1/agents/:agentId', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAgentAccess(principal, agentId, 'write_agent');
    const body = parseOrThrow(agentUpdateSchema, request.body);
    refuseServerKeyAgentFields(principal, body);
    return toAgentState(
      deps,
      await updateAgent(deps, { organizationId: principal.organizationId, agentId, ...body }),
    );
  });

  // Core memory, one block at a time, as `client.agents.blocks` reads and edits it.
  app.get<AgentParams>('/v1/agents/:agentId/core-memory/blocks', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAgentAccess(principal, agentId, 'read_agent');
    const query = parseOrThrow(blockListQuery, request.query);
    return listBlocks(deps, { organizationId: principal.organizationId, agentId, ...query });
  });

  app.get<BlockParams>('/v1/agents/:agentId/core-memory/blocks/:label', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId, label } = request.params;
    requireAgentAccess(principal, agentId, 'read_agent');
    return getBlock(deps, { organizationId: principal.organizationId, agentId, label });
  });

  app.patch<BlockParams>('/v1/agents/:agentId/core-memory/blocks/:label', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId, label } = request.params;
    requireAgentAccess(principal, agentId, 'write_agent');
    const body = parseOrThrow(blockUpdateSchema, request.body);
    return updateBlock(deps, {
      ...body,
      organizationId: principal.organizationId,
      agentId,
      blockLabel: label,
    });
  });

  app.delete<AgentParams>('/v1/agents/:agentId', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    await deleteAgent(deps, {
      organizationId: principal.organizationId,
      agentId: request.params.agentId,
    });
    return reply.status(200).send({ deleted: request.params.agentId });
  });
}
