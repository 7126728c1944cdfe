import type { FastifyInstance } from 'fastify';
import { getBlock, listBlocks, updateBlock } from '../../agents/agent-core-memory.js';
import { deleteAgent } from '../../agents/agent-delete.js';
import { getAgent, listAgents } from '../../agents/agent-read.js';
import {
  agentCreateSchema,
  agentListFields,
  agentUpdateSchema,
  blockListSchema,
  blockUpdateSchema,
} from '../../agents/agent-schemas.js';
import { agentState, agentStates } from '../../agents/agent-state.js';
import { createAgent, updateAgent } from '../../agents/agent-write.js';
import { refuseServerKeyAgentFields } from '../../agents/server-key-only.js';
import { listTags, tagListSchema } from '../../agents/tags.js';
import { requireAccess, requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryBoolean, queryList, queryNumber } from './authenticate.js';

/**
 * The services' own list fields, with the numbers, flags and lists of a query string as
 * text: the services hold them to their limits.
 */
const listQuery = agentListFields.extend({
  limit: queryNumber.optional(),
  ascending: queryBoolean.optional(),
  match_all_tags: queryBoolean.optional(),
  tags: queryList.optional(),
  include: queryList.pipe(agentListFields.shape.include.unwrap().unwrap()).optional(),
  include_relationships: queryList.optional(),
  identifier_keys: queryList.optional(),
});

const tagListQuery = tagListSchema.extend({ limit: queryNumber.optional() });
const blockListQuery = blockListSchema.extend({ limit: queryNumber.optional() });

type AgentParams = { Params: { agentId: string } };
type BlockParams = { Params: { agentId: string; label: string } };

/** Letta's agent routes (`/v1/agents/…`); the message routes are in messages.ts. */
export function registerAgentRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.post('/v1/agents', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const body = parseInput(agentCreateSchema, request.body);
    const agent = await createAgent(deps, { organizationId: principal.organizationId, ...body });
    return reply.status(201).send(await agentState(deps, agent));
  });

  app.get('/v1/agents', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const query = parseInput(listQuery, request.query);
    const rows = await listAgents(deps, { organizationId: principal.organizationId, ...query });
    return agentStates(deps, rows);
  });

  // Every tag of the organization's agents: for a tag filter in an agent picker.
  app.get('/v1/tags', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    return listTags(deps, { organizationId, ...parseInput(tagListQuery, request.query) });
  });

  app.get<AgentParams>('/v1/agents/:agentId', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'read_agent');
    return agentState(
      deps,
      await getAgent(deps, { organizationId: principal.organizationId, agentId }),
    );
  });

  app.patch<AgentParams>('/v1/agents/:agentId', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'write_agent');
    const body = parseInput(agentUpdateSchema, request.body);
    refuseServerKeyAgentFields(principal, body);
    return agentState(
      deps,
      await updateAgent(deps, { organizationId: principal.organizationId, agentId, ...body }),
    );
  });

  // Core memory, one block at a time, as `client.agents.blocks` reads and edits it.
  app.get<AgentParams>('/v1/agents/:agentId/core-memory/blocks', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'read_agent');
    const query = parseInput(blockListQuery, request.query);
    return listBlocks(deps, { organizationId: principal.organizationId, agentId, ...query });
  });

  app.get<BlockParams>('/v1/agents/:agentId/core-memory/blocks/:label', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId, label } = request.params;
    requireAccess(principal, 'agent', agentId, 'read_agent');
    return getBlock(deps, { organizationId: principal.organizationId, agentId, label });
  });

  app.patch<BlockParams>('/v1/agents/:agentId/core-memory/blocks/:label', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId, label } = request.params;
    requireAccess(principal, 'agent', agentId, 'write_agent');
    const body = parseInput(blockUpdateSchema, request.body);
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
