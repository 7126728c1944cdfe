import type { FastifyInstance } from 'fastify';
import { agentState } from '../../agents/agent-state.js';
import {
  getTool,
  listAgentTools,
  listTools,
  setAgentTool,
  toolListSchema,
  toolPageSchema,
} from '../../agents/agent-tools.js';
import { requireAccess, requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryBoolean, queryList, queryNumber } from './authenticate.js';

const pageQuery = toolPageSchema.extend({ limit: queryNumber.optional() });
const listQuery = toolListSchema.extend({
  limit: queryNumber.optional(),
  names: queryList.optional(),
  tool_ids: queryList.optional(),
  tool_types: queryList.optional(),
  exclude_tool_types: queryList.optional(),
  return_only_letta_tools: queryBoolean.optional(),
});

type AgentToolParams = { Params: { agentId: string; toolId: string } };

/**
 * Letta's tool routes over this server's fixed catalogue (agents/tool-catalog.ts). Which
 * tools an agent has decides what it can do, like its model: attaching and detaching them is
 * for a server-side key, while a client-side token with `read_agent` may see them.
 */
export function registerToolRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.get('/v1/tools', async (request) => {
    requireApiKey(await authenticate(deps, request));
    return listTools(parseInput(listQuery, request.query));
  });

  app.get<{ Params: { toolId: string } }>('/v1/tools/:toolId', async (request) => {
    requireApiKey(await authenticate(deps, request));
    return getTool(request.params.toolId);
  });

  app.get<{ Params: { agentId: string } }>('/v1/agents/:agentId/tools', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'read_agent');
    const query = parseInput(pageQuery, request.query);
    return listAgentTools(deps, { organizationId: principal.organizationId, agentId, ...query });
  });

  for (const action of ['attach', 'detach'] as const) {
    app.patch<AgentToolParams>(`/v1/agents/:agentId/tools/${action}/:toolId`, async (request) => {
      const principal = requireApiKey(await authenticate(deps, request));
      const { agentId, toolId } = request.params;
      const row = await setAgentTool(deps, {
        organizationId: principal.organizationId,
        agentId,
        toolId,
        attached: action === 'attach',
      });
      return agentState(deps, row);
    });
  }
}
