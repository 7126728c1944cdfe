import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireAgentAccess } from '../../auth/authorize.js';
import type { ConversationEvent } from '../../services/conversation-events.js';
import type { ServiceDeps } from '../../services/deps.js';
import { messageCreateSchema } from '../../services/message-schemas.js';
import { listMessages, sendMessages } from '../../services/messages.js';
import { openEventStream } from '../sse.js';
import { authenticate, parseOrThrow, queryInteger } from './authenticate.js';

const listQuery = z.strictObject({
  before: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
  limit: queryInteger({ min: 1, max: 1000 }).default(100),
  order: z.enum(['asc', 'desc']).default('desc'),
});

/**
 * Letta's send body. The flags Letta has and this server does not act on are accepted and
 * ignored, so SDK code written for Letta runs unchanged; anything else is refused.
 */
const sendBody = z.strictObject({
  messages: z.array(messageCreateSchema),
  streaming: z.boolean().default(false),
  stream_tokens: z.boolean().default(false),
  include_pings: z.boolean().optional(),
  use_assistant_message: z.boolean().optional(),
  max_steps: z.number().int().positive().optional(),
});

type AgentParams = { Params: { agentId: string } };

/** `/v1/agents/:id/messages` (list and send) and the deprecated `/messages/stream`. */
export function registerMessageRoutes(
  app: FastifyInstance,
  deps: ServiceDeps,
  options: { pingMs?: number | undefined } = {},
) {
  app.get<AgentParams>('/v1/agents/:agentId/messages', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAgentAccess(principal, agentId, 'read_messages');
    const query = parseOrThrow(listQuery, request.query);
    return listMessages(deps, { organizationId: principal.organizationId, agentId, ...query });
  });

  // The deprecated `/messages/stream` always streams; the main route streams on request.
  const send =
    (alwaysStream: boolean) =>
    async (request: FastifyRequest<AgentParams>, reply: FastifyReply) => {
      const principal = await authenticate(deps, request);
      const { agentId } = request.params;
      requireAgentAccess(principal, agentId, 'write_messages');
      const body = parseOrThrow(sendBody, request.body);
      const args = { organizationId: principal.organizationId, agentId, messages: body.messages };
      if (!(alwaysStream || body.streaming)) return sendMessages(deps, args);
      return streamTurn(deps, reply, args, { streamTokens: body.stream_tokens, ...options });
    };
  app.post<AgentParams>('/v1/agents/:agentId/messages', send(false));
  app.post<AgentParams>('/v1/agents/:agentId/messages/stream', send(true));
}

/**
 * Streams a turn as Letta does. Everything that can be refused (input, permission, missing
 * agent) is refused with a plain JSON error before the stream opens: the SDK turns those into
 * typed errors. Once open, a model failure arrives in-stream.
 */
async function streamTurn(
  deps: ServiceDeps,
  reply: FastifyReply,
  args: Parameters<typeof sendMessages>[1],
  { streamTokens, pingMs }: { streamTokens: boolean; pingMs?: number | undefined },
) {
  let stream: ReturnType<typeof openEventStream> | undefined;
  const open = () => {
    stream ??= openEventStream(reply, pingMs);
    return stream;
  };
  const onEvent = (event: ConversationEvent) => {
    // The user's own messages are not echoed, as in Letta; the stream opens with the reply.
    if (event.type === 'delta' && streamTokens) {
      open().data({
        id: event.messageId,
        date: new Date().toISOString(),
        message_type: 'assistant_message',
        content: event.text,
        run_id: event.runId,
      });
    } else if (event.type === 'message' && event.message.message_type === 'assistant_message') {
      if (!streamTokens) open().data(event.message);
    } else if (event.type === 'message') {
      open();
    }
  };
  let response: Awaited<ReturnType<typeof sendMessages>>;
  try {
    response = await sendMessages(deps, { ...args, onEvent });
  } catch (error) {
    // Before the stream opened, the error handler answers as for any request.
    if (!stream) throw error;
    stream.data({ message_type: 'stop_reason', stop_reason: 'error' });
    stream.error({
      message_type: 'error_message',
      error_type: 'internal_error',
      message: 'The turn failed on the server; the messages sent were stored if acknowledged.',
    });
    stream.done();
    reply.log.error({ err: error }, 'streamed turn failed');
    return reply;
  }
  const s = open();
  s.data(response.stop_reason);
  // A failed turn ends as Letta's does: stop reason, the error, [DONE] (the SDK stops reading
  // at the error, so usage there would never be seen).
  if (response.stop_reason.error) {
    s.error({
      message_type: 'error_message',
      error_type: response.stop_reason.stop_reason,
      message: response.stop_reason.error,
    });
  } else {
    s.data(response.usage);
  }
  s.done();
  return reply;
}
