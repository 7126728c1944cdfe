import type { FastifyInstance } from 'fastify';
import { getAgent, requireAgent } from '../../agents/agent-read.js';
import { agentState } from '../../agents/agent-state.js';
import { requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { setAgentIdentity } from '../../identities/agent-links.js';
import {
  createIdentity,
  deleteIdentity,
  getIdentity,
  listIdentities,
  updateIdentity,
  upsertIdentity,
} from '../../identities/identities.js';
import {
  identityCreateSchema,
  identityListSchema,
  identityPropertiesSchema,
  identityUpdateSchema,
} from '../../identities/identity-schemas.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryNumber } from './authenticate.js';

const listQuery = identityListSchema.extend({ limit: queryNumber.optional() });

type IdentityParams = { Params: { identityId: string } };
type LinkParams = { Params: { agentId: string; identityId: string } };

/**
 * Letta's identities (`/v1/identities`): the operator's own users, mapped to their agents.
 * Who is who is the backend's to say, so every route takes a server-side key only.
 */
export function registerIdentityRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.post('/v1/identities', async (request, reply) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    const body = parseInput(identityCreateSchema, request.body);
    return reply.status(201).send(await createIdentity(deps, { organizationId, ...body }));
  });

  app.put('/v1/identities', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    const body = parseInput(identityCreateSchema, request.body);
    return upsertIdentity(deps, { organizationId, ...body });
  });

  app.get('/v1/identities', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    return listIdentities(deps, { organizationId, ...parseInput(listQuery, request.query) });
  });

  app.get<IdentityParams>('/v1/identities/:identityId', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    return getIdentity(deps, { organizationId, identityId: request.params.identityId });
  });

  app.patch<IdentityParams>('/v1/identities/:identityId', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    const body = parseInput(identityUpdateSchema, request.body);
    const { identityId } = request.params;
    return updateIdentity(deps, { organizationId, identityId, ...body });
  });

  // Letta's properties upsert: the list given is the identity's whole new set.
  app.put<IdentityParams>('/v1/identities/:identityId/properties', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    const properties = parseInput(identityPropertiesSchema, request.body);
    const { identityId } = request.params;
    return updateIdentity(deps, { organizationId, identityId, properties });
  });

  app.delete<IdentityParams>('/v1/identities/:identityId', async (request) => {
    const { organizationId } = requireApiKey(await authenticate(deps, request));
    const { identityId } = request.params;
    await deleteIdentity(deps, { organizationId, identityId });
    return { deleted: identityId };
  });

  for (const action of ['attach', 'detach'] as const) {
    app.patch<LinkParams>(
      `/v1/agents/:agentId/identities/${action}/:identityId`,
      async (request) => {
        const { organizationId } = requireApiKey(await authenticate(deps, request));
        const { agentId, identityId } = request.params;
        await requireAgent(deps, { organizationId, agentId });
        await setAgentIdentity(deps.db, {
          organizationId,
          agentId,
          identityId,
          attached: action === 'attach',
        });
        return agentState(deps, await getAgent(deps, { organizationId, agentId }));
      },
    );
  }
}
