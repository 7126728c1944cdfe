import type { FastifyInstance } from 'fastify';
import { requireApiKey } from '../../auth/authorize.js';
import { messageTypesSchema } from '../../conversation/message-schemas.js';
import {
  listOrganizationMessages,
  organizationMessageListSchema,
} from '../../conversation/organization-messages.js';
import type { ServiceDeps } from '../../deps.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryList, queryNumber } from './authenticate.js';

const listQuery = organizationMessageListSchema.extend({
  limit: queryNumber.optional(),
  include_return_message_types: queryList.pipe(messageTypesSchema).optional(),
});

/**
 * Letta's `client.messages.list`: the messages of every agent of the organization, for a
 * backend's own moderation or analytics, so a server-side key only.
 */
export function registerOrganizationMessageRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.get('/v1/messages', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    return listOrganizationMessages(deps, {
      organizationId,
      ...parseInput(listQuery, request.query),
    });
  });
}
