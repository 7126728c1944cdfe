import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { refuseNonUserMessages } from '../../agents/server-key-only.js';
import { emptyList, nullOnly } from '../../agents/unsupported-fields.js';
import { requireAccess } from '../../auth/authorize.js';
import { watchCredential } from '../../auth/credential-lifetime.js';
import { requestOrigin } from '../../auth/request-origin.js';
import type { ConversationEvent } from '../../conversation/conversation-events.js';
import {
  type LettaMessageType,
  type MessageCreate,
  messageContent,
  messageCreateSchema,
  messageListSchema,
  messageTypesSchema,
  runIdsSchema,
} from '../../conversation/message-schemas.js';
import { cancelTurn, listMessages, sendMessages } from '../../conversation/messages.js';
import { errorCode } from '../../db/error-code.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable } from '../../db/unavailable.js';
import type { ServiceDeps } from '../../deps.js';
import { AppError } from '../../errors.js';
import { parseInput } from '../../lib/parse-input.js';
import { untilClientGone } from '../client-gone.js';
import { openEventStream } from '../sse.js';
import { authenticate, queryBoolean, queryList, queryNumber } from './authenticate.js';
import { sdkRetry, waitWithinClientTimeout } from './sdk-headers.js';

/**
 * Letta's list query: the service's fields, with a query string's numbers and lists as text
 * (the service holds them to its limits). The flags about message formatting change nothing.
 */
const listQuery = messageListSchema.extend({
  limit: queryNumber.optional(),
  include_return_message_types: queryList.pipe(messageTypesSchema).optional(),
  order_by: z.literal('created_at').optional(),
  use_assistant_message: queryBoolean.optional(),
  include_err: queryBoolean.optional(),
  assistant_message_tool_kwarg: z.string().max(200).optional(),
  assistant_message_tool_name: z.string().max(200).optional(),
  // One conversation per agent here: a filter naming another cannot be honoured.
  conversation_id: z.string().max(0, 'is not supported by this server').optional(),
  group_id: z.string().max(0, 'is not supported by this server').optional(),
});

/**
 * Letta's send body. `input` is the SDK's shorthand for one user message. The flags Letta
 * has and this server does not act on are accepted and ignored, so SDK code written for
 * Letta runs unchanged; those asking for what it lacks (client tools, model overrides) are
 * refused unless empty, and anything else is refused. Each route extends it with its own
 * fields, then reads it through `oneSource` and `toMessages`.
 */
export const sendBodyBase = z.strictObject({
  messages: z.array(messageCreateSchema).nullable().optional(),
  input: messageContent.nullable().optional(),
  include_return_message_types: messageTypesSchema.nullable().optional(),
  use_assistant_message: z.boolean().optional(),
  max_steps: z.number().int().positive().optional(),
  assistant_message_tool_kwarg: z.string().optional(),
  assistant_message_tool_name: z.string().optional(),
  enable_thinking: z.string().optional(),
  include_compaction_messages: z.boolean().optional(),
  return_logprobs: z.boolean().optional(),
  return_token_ids: z.boolean().optional(),
  top_logprobs: z.number().int().nullable().optional(),
  client_skills: emptyList,
  client_tools: emptyList,
  override_model: nullOnly,
  override_system: nullOnly,
});

type SendSource = { input?: MessageCreate['content'] | null; messages?: MessageCreate[] | null };
export const oneSource: [(b: SendSource) => boolean, { path: string[]; message: string }] = [
  (b) => b.input == null || !b.messages?.length,
  { path: ['input'], message: 'give either messages or input, not both' },
];
export const toMessages = <T extends SendSource>({ input, messages, ...rest }: T) => ({
  ...rest,
  messages: input == null ? (messages ?? []) : [{ role: 'user' as const, content: input }],
});

const sendBody = sendBodyBase
  .extend({
    streaming: z.boolean().default(false),
    stream_tokens: z.boolean().default(false),
    include_pings: z.boolean().optional(),
    background: z.boolean().optional(),
  })
  .refine(...oneSource)
  .transform(toMessages);

/** Letta's cancel body (`MessageCancelParams`); the SDK sends `{}` when given none. */
const cancelBody = z.strictObject({ run_ids: runIdsSchema });

type AgentParams = { Params: { agentId: string } };

/** `/v1/agents/:id/messages` (list, send, cancel) and the deprecated `/messages/stream`. */
export function registerMessageRoutes(
  app: FastifyInstance,
  deps: ServiceDeps,
  options: { pingMs?: number | undefined } = {},
) {
  app.get<AgentParams>('/v1/agents/:agentId/messages', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'read_messages');
    const { before, after, limit, order, include_return_message_types } = parseInput(
      listQuery,
      request.query,
    );
    return listMessages(deps, {
      organizationId: principal.organizationId,
      agentId,
      before,
      after,
      limit,
      order,
      include_return_message_types,
    });
  });

  // The deprecated `/messages/stream` always streams; the main route streams on request.
  const send =
    (alwaysStream: boolean) =>
    async (request: FastifyRequest<AgentParams>, reply: FastifyReply) => {
      const principal = await authenticate(deps, request);
      const { agentId } = request.params;
      requireAccess(principal, 'agent', agentId, 'write_messages');
      const body = parseInput(sendBody, request.body);
      refuseNonUserMessages(principal, body.messages);
      // A revocation (or the token's expiry) drops the send if it is still queued and stops
      // its turn if it is running: the credential already gets 401 everywhere else.
      const credential = watchCredential(deps, principal, {
        authorization: request.headers.authorization,
        origin: requestOrigin(request.headers, { protocol: request.protocol, host: request.host }),
      });
      const streaming = alwaysStream || body.streaming;
      const args = {
        organizationId: principal.organizationId,
        agentId,
        messages: body.messages,
        // A send still queued when its client leaves is given up: nobody would hear the
        // answer, and the SDK, having timed out, sends it again.
        signal: untilClientGone(reply),
        stop: credential.signal,
        // A plain send is answered (409, not to be retried) while its client still listens:
        // one that gave up first would send again, maybe as the first is stored.
        maxWaitMs: streaming ? undefined : waitWithinClientTimeout(request),
        retry: sdkRetry(request),
      };
      const wanted = (type: LettaMessageType) =>
        !body.include_return_message_types || body.include_return_message_types.includes(type);
      try {
        if (streaming) {
          return await streamTurn(deps, reply, args, {
            streamTokens: body.stream_tokens,
            wanted,
            ...options,
          });
        }
        // Once the user's message is stored, a retry would store it again: the SDK must not.
        let stored = false;
        try {
          const response = await sendMessages(deps, {
            ...args,
            onEvent: (event) => {
              if (event.type === 'message') stored = true;
            },
          });
          return {
            ...response,
            messages: response.messages.filter((m) => wanted(m.message_type)),
          };
        } catch (error) {
          if (stored) reply.header('x-should-retry', 'false');
          throw error;
        }
      } finally {
        credential.dispose();
      }
    };
  app.post<AgentParams>('/v1/agents/:agentId/messages', send(false));
  app.post<AgentParams>('/v1/agents/:agentId/messages/stream', send(true));

  // Letta answers `{ [run_id]: 'cancelled' }` for the runs it stopped (the SDK types it as a
  // plain object), `{}` when none ran.
  app.post<AgentParams>('/v1/agents/:agentId/messages/cancel', async (request) => {
    const principal = await authenticate(deps, request);
    const { agentId } = request.params;
    requireAccess(principal, 'agent', agentId, 'write_messages');
    const { run_ids } = parseInput(cancelBody, request.body);
    return cancelTurn(deps, { organizationId: principal.organizationId, agentId, runIds: run_ids });
  });
}

/**
 * Streams a turn as Letta does. Everything that can be refused (input, permission, missing
 * agent, an `otid` already stored) is refused with a plain JSON error before the stream
 * opens: the SDK turns those into typed errors. The stream then opens at once, before the
 * send waits for the agent's turn, so its pings reach a client queued behind a long turn
 * (which would otherwise time out and send again); what fails after that (the wait, the
 * model, a resend that raced its original into the queue) arrives in-stream.
 */
async function streamTurn(
  deps: ServiceDeps,
  reply: FastifyReply,
  args: Parameters<typeof sendMessages>[1],
  {
    streamTokens,
    wanted,
    pingMs,
  }: {
    streamTokens: boolean;
    wanted: (type: LettaMessageType) => boolean;
    pingMs?: number | undefined;
  },
) {
  let stream: ReturnType<typeof openEventStream> | undefined;
  const open = () => {
    stream ??= openEventStream(reply, pingMs);
    return stream;
  };
  const onEvent = (event: ConversationEvent) => {
    // The user's own messages are not echoed, as in Letta; the agent's reply, reasoning and
    // tool calls are, each once stored (a reply streamed in tokens is sent piece by piece).
    if (event.type === 'delta' && streamTokens && wanted('assistant_message')) {
      open().data({
        id: event.messageId,
        date: new Date().toISOString(),
        message_type: 'assistant_message',
        content: event.text,
        run_id: event.runId,
        // Where a resumed stream picks up: after the stored message this piece follows, so
        // the reply it belongs to comes again whole.
        seq_id: event.afterSeq,
        otid: null,
      });
    } else if (event.type === 'message') {
      const type = event.message.message_type;
      if (type === 'user_message' || type === 'system_message' || !wanted(type)) return;
      if (type !== 'assistant_message' || !streamTokens) open().data(event.message);
    }
  };
  let response: Awaited<ReturnType<typeof sendMessages>>;
  try {
    response = await sendMessages(deps, { ...args, onEvent, onAccepted: open });
  } catch (error) {
    // Before the stream opened, the error handler answers as for any request.
    if (!stream) throw error;
    stream.data({ message_type: 'stop_reason', stop_reason: 'error' });
    stream.error({ message_type: 'error_message', ...inStreamError(error, reply.log) });
    stream.done();
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

/**
 * A turn's failure once its stream is open, as Letta's stream errors name it (`error_type`
 * in snake case) and as the error handler would have answered it: ours (a busy agent, a lost
 * turn) say what happened, an unreachable database is a service-unavailable error logged by
 * its code only (Drizzle's error holds the statement and its parameters), and anything else
 * is logged whole and not shown.
 */
function inStreamError(error: unknown, log: FastifyBaseLogger) {
  if (error instanceof AppError) {
    return { error_type: error.code.toLowerCase(), message: error.message };
  }
  if (isDatabaseUnavailable(error)) {
    log.warn({ code: errorCode(error) }, 'database unavailable');
    return { error_type: 'service_unavailable', message: DATABASE_UNAVAILABLE_MESSAGE };
  }
  log.error({ err: error }, 'streamed turn failed');
  return {
    error_type: 'internal_error',
    message: 'The turn failed on the server; the messages sent were stored if acknowledged.',
  };
}
