import { z } from 'zod';
import {
  agentCreateSchema,
  agentListSchema,
  agentUpdateSchema,
} from '../../services/agent-schemas.js';
import {
  createAgent,
  deleteAgent,
  getAgent,
  listAgents,
  toAgentState,
  updateAgent,
} from '../../services/agents.js';
import { agentIdSchema, agentProcedure, apiKeyProcedure, router } from '../trpc.js';

export const agentsRouter = router({
  create: apiKeyProcedure
    .input(agentCreateSchema)
    .mutation(async ({ ctx, input }) =>
      toAgentState(
        await createAgent(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
      ),
    ),

  list: apiKeyProcedure
    .input(agentListSchema.default({ limit: 50, order: 'desc' }))
    .query(async ({ ctx, input }) =>
      (await listAgents(ctx.deps, { organizationId: ctx.principal.organizationId, ...input })).map(
        toAgentState,
      ),
    ),

  // agentProcedure's own input lets other keys through for the procedures that extend it.
  retrieve: agentProcedure('read_agent')
    .input(z.strictObject({ agentId: agentIdSchema }))
    .query(async ({ ctx, input }) =>
      toAgentState(
        await getAgent(ctx.deps, {
          organizationId: ctx.principal.organizationId,
          agentId: input.agentId,
        }),
      ),
    ),

  update: agentProcedure('write_agent')
    .input(agentUpdateSchema.extend({ agentId: agentIdSchema }))
    .mutation(async ({ ctx, input }) =>
      toAgentState(
        await updateAgent(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
      ),
    ),

  delete: apiKeyProcedure
    .input(z.strictObject({ agentId: agentIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await deleteAgent(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
      });
      return { deleted: input.agentId };
    }),
});
