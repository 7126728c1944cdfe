import { getAgent } from '../../services/agents.js';
import { agentProcedure, router } from '../trpc.js';

export const agentsRouter = router({
  retrieve: agentProcedure('read_agent').query(({ ctx, input }) =>
    getAgent(ctx.deps, { organizationId: ctx.principal.organizationId, agentId: input.agentId }),
  ),
});
