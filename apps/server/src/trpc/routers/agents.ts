import { z } from 'zod';
import { updateBlock } from '../../agents/agent-core-memory.js';
import { deleteAgent } from '../../agents/agent-delete.js';
import { getAgent, listAgents } from '../../agents/agent-read.js';
import {
  agentCreateSchema,
  agentListSchema,
  agentUpdateSchema,
  blockLabel,
  blockUpdateSchema,
} from '../../agents/agent-schemas.js';
import { agentState, agentStates } from '../../agents/agent-state.js';
import { createAgent, updateAgent } from '../../agents/agent-write.js';
import { refuseServerKeyAgentFields } from '../../agents/server-key-only.js';
import { agentProcedure, apiKeyProcedure, resourceIdSchema, router } from '../trpc.js';

export const agentsRouter = router({
  create: apiKeyProcedure
    .input(agentCreateSchema)
    .mutation(async ({ ctx, input }) =>
      agentState(
        ctx.deps,
        await createAgent(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
      ),
    ),

  list: apiKeyProcedure
    .input(agentListSchema.default({ limit: 50, order: 'desc' }))
    .query(async ({ ctx, input }) =>
      agentStates(
        ctx.deps,
        await listAgents(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
      ),
    ),

  // agentProcedure's own input lets other keys through for the procedures that extend it.
  retrieve: agentProcedure('read_agent')
    .input(z.strictObject({ agentId: resourceIdSchema }))
    .query(async ({ ctx, input }) =>
      agentState(
        ctx.deps,
        await getAgent(ctx.deps, {
          organizationId: ctx.principal.organizationId,
          agentId: input.agentId,
        }),
      ),
    ),

  update: agentProcedure('write_agent')
    .input(agentUpdateSchema.extend({ agentId: resourceIdSchema }))
    .mutation(async ({ ctx, input }) => {
      refuseServerKeyAgentFields(ctx.principal, input);
      return agentState(
        ctx.deps,
        await updateAgent(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
      );
    }),

  /** One memory block's value, description or limit, as the REST block PATCH does. */
  updateBlock: agentProcedure('write_agent')
    .input(
      blockUpdateSchema
        .omit({ label: true })
        .extend({ agentId: resourceIdSchema, label: blockLabel }),
    )
    .mutation(({ ctx, input: { label, ...change } }) =>
      updateBlock(ctx.deps, {
        ...change,
        organizationId: ctx.principal.organizationId,
        blockLabel: label,
      }),
    ),

  delete: apiKeyProcedure
    .input(z.strictObject({ agentId: resourceIdSchema }))
    .mutation(async ({ ctx, input }) => {
      await deleteAgent(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
      });
      return { deleted: input.agentId };
    }),
});
