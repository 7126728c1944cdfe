import { tracked } from '@trpc/server';
import { z } from 'zod';
import { userOfToken } from '../../accounts/sessions.js';
import { requireAgent } from '../../agents/agent-read.js';
import {
  openConversationEvents,
  type TrackedEvent,
} from '../../conversation/conversation-events.js';
import { messageListSchema, runIdsSchema } from '../../conversation/message-schemas.js';
import { cancelTurn, listMessages, sendMessages } from '../../conversation/messages.js';
import { untilCredentialEnds } from '../stream-lifetime.js';
import { agentProcedure, resourceIdSchema, router, toTRPCError } from '../trpc.js';

export const messagesRouter = router({
  list: agentProcedure('read_messages')
    .input(messageListSchema.extend({ agentId: resourceIdSchema }))
    .query(({ ctx, input }) =>
      listMessages(ctx.deps, { organizationId: ctx.principal.organizationId, ...input }),
    ),

  /** One user message; the answer is the agent's reply, which also streams to `events`. */
  send: agentProcedure('write_messages')
    .input(
      z.strictObject({
        agentId: resourceIdSchema,
        content: z.string(),
        otid: z.string().min(1).max(200).optional(),
      }),
    )
    .mutation(({ ctx, input, signal }) =>
      sendMessages(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
        messages: [{ role: 'user', content: input.content, otid: input.otid }],
        // Aborts when the client leaves: a send still queued then is given up.
        signal,
      }),
    ),

  /**
   * Stops the agent's running turn (only one of `runIds`, when given), on whichever instance
   * runs it: the reply so far is stored and the turn ends as `cancelled`. Answers Letta's
   * `{ [runId]: 'cancelled' }`, empty when this instance ran nothing to cancel.
   */
  cancel: agentProcedure('write_messages')
    .input(z.strictObject({ agentId: resourceIdSchema, runIds: runIdsSchema }))
    .mutation(({ ctx, input }) =>
      cancelTurn(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
        runIds: input.runIds,
      }),
    ),

  /**
   * The conversation live, over SSE: every stored message and every piece of a reply as it is
   * produced. `lastEventId` (sent by tRPC's client on reconnect) replays what was missed. The
   * stream listens before its answer starts, so once the client hears it is connected nothing
   * published is missed.
   */
  events: agentProcedure('read_messages')
    .input(
      z.strictObject({
        agentId: resourceIdSchema,
        lastEventId: z.string().max(200).nullish(),
      }),
    )
    .subscription(async ({ ctx, input, signal }) => {
      await requireAgent(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        agentId: input.agentId,
      });
      const { principal } = ctx;
      const releaseStream = ctx.deps.liveStreams.acquire({
        principal,
        userId:
          principal.kind === 'clientToken'
            ? await userOfToken(ctx.deps, { tokenId: principal.tokenId })
            : null,
        clientAddress: ctx.clientAddress,
      });
      const lifetime = untilCredentialEnds(ctx, signal);
      lifetime.signal.addEventListener('abort', releaseStream, { once: true });
      let events: AsyncGenerator<TrackedEvent>;
      try {
        events = await openConversationEvents(ctx.deps, {
          agentId: input.agentId,
          lastEventId: input.lastEventId,
          signal: lifetime.signal,
        });
      } catch (error) {
        releaseStream();
        lifetime.dispose();
        throw error;
      }
      return trackedUntilEnd(events, lifetime, releaseStream);
    }),
});

/**
 * The stream as tRPC sends it, each event with its id. Declared once rather than per
 * stream: a generator function made per call brings its own prototype and hidden classes
 * to every open stream. Its body runs after the middleware has returned, so its errors
 * are mapped here.
 */
async function* trackedUntilEnd(
  events: AsyncGenerator<TrackedEvent>,
  lifetime: ReturnType<typeof untilCredentialEnds>,
  releaseStream: () => void,
) {
  try {
    for await (const { id, event } of events) yield tracked(id, event);
    lifetime.check();
  } catch (error) {
    throw toTRPCError(error) ?? error;
  } finally {
    releaseStream();
    lifetime.dispose();
  }
}
