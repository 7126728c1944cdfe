import { tracked } from '@trpc/server';
import { z } from 'zod';
import { getAgent } from '../../services/agents.js';
import { conversationEvents } from '../../services/conversation-events.js';
import { messageListSchema } from '../../services/message-schemas.js';
import { listMessages, sendMessages } from '../../services/messages.js';
import { untilCredentialEnds } from '../stream-lifetime.js';
import { agentIdSchema, agentProcedure, router, toTRPCError } from '../trpc.js';

export const messagesRouter = router({
  list: agentProcedure('read_messages')
    .input(messageListSchema.extend({ agentId: agentIdSchema }))
    .query(({ ctx, input }) =>
      listMessages(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
    ),

  /** One user message; the answer is the agent's reply, which also streams to `events`. */
  send: agentProcedure('write_messages')
    .input(
      z.strictObject({
        agentId: agentIdSchema,
        content: z.string(),
        otid: z.string().min(1).max(200).optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      sendMessages(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
        messages: [{ role: 'user', content: input.content, otid: input.otid }],
      }),
    ),

  /**
   * The conversation live, over SSE: every stored message and every piece of a reply as it is
   * produced. `lastEventId` (sent by tRPC's client on reconnect) replays what was missed.
   */
  events: agentProcedure('read_messages')
    .input(
      z.strictObject({
        agentId: agentIdSchema,
        lastEventId: z.string().max(200).nullish(),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      // A subscription's body runs after the middleware has returned, so its errors are mapped here.
      await getAgent(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
      }).catch((error: unknown) => {
        throw toTRPCError(error) ?? error;
      });
      const lifetime = untilCredentialEnds(ctx, signal);
      try {
        for await (const { id, event } of conversationEvents(ctx.deps, {
          agentId: input.agentId,
          lastEventId: input.lastEventId,
          signal: lifetime.signal,
        })) {
          yield tracked(id, event);
        }
        lifetime.check();
      } finally {
        lifetime.dispose();
      }
    }),
});
