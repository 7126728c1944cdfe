import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { refuseNonUserMessages } from '../../agents/server-key-only.js';
import { nullOnly } from '../../agents/unsupported-fields.js';
import { requireAccess, requireApiKey } from '../../auth/authorize.js';
import { watchCredential } from '../../auth/credential-lifetime.js';
import { requestOrigin } from '../../auth/request-origin.js';
import { messageListSchema } from '../../conversation/message-schemas.js';
import { sendInBackground } from '../../conversation/messages.js';
import { followRun, listRunMessages } from '../../conversation/run-stream.js';
import { getRun, listRuns, runListSchema } from '../../conversation/runs.js';
import type { ServiceDeps } from '../../deps.js';
import { AppError } from '../../errors.js';
import { parseInput } from '../../lib/parse-input.js';
import { untilClientGone } from '../client-gone.js';
import { openEventStream } from '../sse.js';
import { authenticate, queryBoolean, queryList, queryNumber } from './authenticate.js';
import { oneSource, sendBodyBase, toMessages } from './messages.js';
import { sdkRetry } from './sdk-headers.js';

/** Letta's `MessageCreateAsyncParams`: a send's body, with no streaming and no callback. */
const asyncBody = sendBodyBase
  .extend({ callback_url: nullOnly })
  .refine(...oneSource)
  .transform(toMessages);

const listQuery = runListSchema.extend({
  limit: queryNumber.optional(),
  agent_ids: queryList.optional(),
  statuses: queryList.pipe(runListSchema.shape.statuses.unwrap().unwrap()).optional(),
  ascending: queryBoolean.optional(),
  active: queryBoolean.optional(),
  background: queryBoolean.optional(),
});
const messagesQuery = messageListSchema.pick({ before: true, after: true }).extend({
  limit: queryNumber.optional(),
  order: z.enum(['asc', 'desc']).optional(),
  order_by: z.literal('created_at').optional(),
});

/** Letta's `MessageStreamParams`; the pacing fields tune Letta's polling and change nothing. */
const streamBody = z.strictObject({
  starting_after: z.number().int().min(0).optional(),
  include_pings: z.boolean().nullable().optional(),
  poll_interval: z.number().nullable().optional(),
  batch_size: z.number().int().nullable().optional(),
  agent_id: z.string().max(200).nullable().optional(),
  otid: z.string().max(200).nullable().optional(),
  run_id: z.string().max(200).nullable().optional(),
});

type RunParams = { Params: { runId: string } };

/**
 * Background sends and Letta's runs. A send in the background is a send: a client-side token
 * with `write_messages` may make one, as Letta Cloud lets it. The runs themselves are read
 * with the server-side key only, as Cloud answers a client-side token 401 there.
 */
export function registerRunRoutes(app: FastifyInstance, deps: ServiceDeps) {
  /** Background turns still running; the server waits for them when it closes. */
  const running = new Set<Promise<unknown>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled(running);
  });

  app.post<{ Params: { agentId: string } }>(
    '/v1/agents/:agentId/messages/async',
    async (request) => {
      const principal = await authenticate(deps, request);
      const { agentId } = request.params;
      requireAccess(principal, 'agent', agentId, 'write_messages');
      const body = parseInput(asyncBody, request.body);
      refuseNonUserMessages(principal, body.messages);
      // The turn outlives the request, but not the credential that asked for it.
      const credential = watchCredential(deps, principal, {
        authorization: request.headers.authorization,
        origin: requestOrigin(request.headers, { protocol: request.protocol, host: request.host }),
      });
      try {
        const { run, done } = await sendInBackground(deps, {
          organizationId: principal.organizationId,
          agentId,
          messages: body.messages,
          stop: credential.signal,
          retry: sdkRetry(request),
        });
        const settled = done
          .catch((error: unknown) => request.log.warn({ err: error }, 'background turn failed'))
          .finally(() => {
            credential.dispose();
            running.delete(settled);
          });
        running.add(settled);
        return run;
      } catch (error) {
        credential.dispose();
        throw error;
      }
    },
  );

  app.get('/v1/runs', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const query = parseInput(listQuery, request.query);
    return listRuns(deps, { organizationId: principal.organizationId, ...query });
  });

  app.get<RunParams>('/v1/runs/:runId', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    return getRun(deps, { organizationId: principal.organizationId, runId: request.params.runId });
  });

  app.get<RunParams>('/v1/runs/:runId/messages', async (request) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const { order_by: _, ...query } = parseInput(messagesQuery, request.query);
    return listRunMessages(deps, {
      organizationId: principal.organizationId,
      runId: request.params.runId,
      ...query,
    });
  });

  app.post<RunParams>('/v1/runs/:runId/stream', async (request, reply) => {
    const principal = requireApiKey(await authenticate(deps, request));
    const body = parseInput(streamBody, request.body);
    const { organizationId } = principal;
    const { runId } = request.params;
    // A run not found is plain JSON; the stream opens once it is.
    await getRun(deps, { organizationId, runId });
    const stream = openEventStream(reply);
    const signal = untilClientGone(reply);
    try {
      const startingAfter = body.starting_after;
      for await (const chunk of followRun(deps, { organizationId, runId, startingAfter, signal })) {
        stream.data(chunk);
      }
    } catch (error) {
      request.log.warn({ err: error }, 'run stream failed');
      stream.error({
        message_type: 'error_message',
        error_type: error instanceof AppError ? error.code.toLowerCase() : 'internal_error',
        message:
          error instanceof AppError
            ? error.message
            : 'The run stream failed; resume it after the last seq_id received',
      });
    }
    stream.done();
    return reply;
  });
}
