import type { FastifyInstance } from 'fastify';
import { blockCreateSchema, blockUpdateSchema } from '../../agents/agent-schemas.js';
import { agentState } from '../../agents/agent-state.js';
import {
  attachBlock,
  createBlock,
  deleteBlock,
  detachBlock,
  listOrganizationBlocks,
  organizationBlockListSchema,
  retrieveBlock,
  updateBlockById,
} from '../../agents/blocks.js';
import { requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryBoolean, queryList, queryNumber } from './authenticate.js';

const listQuery = organizationBlockListSchema.extend({
  limit: queryNumber.optional(),
  templates_only: queryBoolean.optional(),
  match_all_tags: queryBoolean.optional(),
  identifier_keys: queryList.optional(),
  tags: queryList.optional(),
  connected_to_agents_count_eq: queryList.optional(),
});

type BlockParams = { Params: { blockId: string } };
type AgentBlockParams = { Params: { agentId: string; blockId: string } };

/**
 * Letta's blocks of their own (`/v1/blocks`), and attaching them to agents, so one block is
 * several agents' shared memory. What an agent remembers and shares is the operator's to
 * arrange: all of it is for the server-side key, as Letta Cloud answers a client-side token
 * 401 outside `/agents/{id}` and its messages. A token with `write_agent` still edits its
 * agent's blocks by label (rest/agents.ts), shared ones included.
 */
export function registerBlockRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.post('/v1/blocks', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const body = parseInput(blockCreateSchema, request.body);
    const block = await createBlock(deps, { ...body, organizationId: principal.organizationId });
    return reply.status(201).send(block);
  });

  app.get('/v1/blocks', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const query = parseInput(listQuery, request.query);
    return listOrganizationBlocks(deps, { organizationId: principal.organizationId, ...query });
  });

  app.get<BlockParams>('/v1/blocks/:blockId', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    return retrieveBlock(deps, {
      organizationId: principal.organizationId,
      blockId: request.params.blockId,
    });
  });

  app.patch<BlockParams>('/v1/blocks/:blockId', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const body = parseInput(blockUpdateSchema, request.body);
    return updateBlockById(deps, {
      ...body,
      organizationId: principal.organizationId,
      blockId: request.params.blockId,
    });
  });

  app.delete<BlockParams>('/v1/blocks/:blockId', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const { blockId } = request.params;
    await deleteBlock(deps, { organizationId: principal.organizationId, blockId });
    return { deleted: blockId };
  });

  for (const action of ['attach', 'detach'] as const) {
    app.patch<AgentBlockParams>(
      `/v1/agents/:agentId/core-memory/blocks/${action}/:blockId`,
      async (request) => {
        const principal = requireApiKey(await authenticate(deps, request));
        const args = { organizationId: principal.organizationId, ...request.params };
        const row =
          action === 'attach' ? await attachBlock(deps, args) : await detachBlock(deps, args);
        return agentState(deps, row);
      },
    );
  }
}
