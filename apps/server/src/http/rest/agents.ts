import type { FastifyInstance } from 'fastify';
import { requireAgentAccess } from '../../auth/authorize.js';
import { getAgent } from '../../services/agents.js';
import type { ServiceDeps } from '../../services/deps.js';
import { authenticate } from './authenticate.js';

/** Letta's agent routes (`/v1/agents/…`). */
export function registerAgentRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.get<{ Params: { agentId: string } }>('/v1/agents/:agentId', async (request) => {
    const principal = await authenticate(deps, request);
    requireAgentAccess(principal, request.params.agentId, 'read_agent');
    const agent = await getAgent(deps, {
      organizationId: principal.organizationId,
      agentId: request.params.agentId,
    });
    return {
      id: agent.id,
      name: agent.name,
      created_at: agent.createdAt.toISOString(),
      updated_at: agent.updatedAt.toISOString(),
    };
  });
}
